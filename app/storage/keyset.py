"""Keyset pagination on any sort key: order by (key, tiebreaker) with NULLs last, resume after a position.

A page ends at a row; the next page starts strictly after that row's (key value, tiebreaker) pair, so
rows inserted or changed elsewhere never shift a page by an offset. The tiebreaker is unique and
non-null (an id or a trial number) and always ascending, whichever way the key sorts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_

MAX_INT = 2**63 - 1
"""Largest integer both SQLite and PostgreSQL (BIGINT) accept; larger cursor values are rejected."""


@dataclass(frozen=True)
class SortField:
    """A sortable expression and the Python type of its values (`int`, `float`, `str` or `datetime`)."""

    expression: SQLColumnExpression[Any]
    kind: type
    nullable: bool = True

    def to_position(self, value: Any) -> Any:
        """A row's key value as JSON (datetimes as ISO 8601)."""
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        return value

    def from_position(self, raw: Any) -> Any:
        """Parse a key value back from JSON; ValueError if it cannot be a value of this field."""
        if raw is None:
            if not self.nullable:
                raise ValueError("this sort key is never null")
            return None
        return parse_value(self.kind, raw)


def parse_value(kind: type, raw: Any) -> Any:
    """A JSON value as `kind`, within what the databases store; ValueError otherwise."""
    if isinstance(raw, bool):
        raise ValueError("booleans are not positions")
    if kind is int:
        if not isinstance(raw, int) or not -MAX_INT - 1 <= raw <= MAX_INT:
            raise ValueError(f"expected a 64-bit integer, got {raw!r}")
        return raw
    if kind is float:
        if not isinstance(raw, int | float) or not math.isfinite(raw) or abs(raw) > 1e308:
            raise ValueError(f"expected a finite number, got {raw!r}")
        return float(raw)
    if kind is str:
        if not isinstance(raw, str) or len(raw) > 1000 or "\x00" in raw:
            raise ValueError("expected a short string")
        return raw
    if kind is datetime:
        if not isinstance(raw, str) or len(raw) > 64:
            raise ValueError("expected an ISO 8601 timestamp")
        parsed = datetime.fromisoformat(raw)
        try:
            instant = (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError as error:
            raise ValueError("timestamp out of range") from error
        if not 1 < instant.year < 9999:  # the drivers shift by the local offset, which must not overflow
            raise ValueError("timestamp out of range")
        return instant
    raise ValueError(f"unsupported kind {kind!r}")


@dataclass(frozen=True)
class KeysetOrder:
    """ORDER BY and "after this row" predicate for `field`, ascending or descending, NULLs last.

    `tiebreaker` is None when the key itself is unique and non-null (sorting by id). A nullable key is
    read in two parts so that both can walk an index on (key, tiebreaker): the rows with a key, by
    `order_by()` and `after()`, then the rows without one, by `null_order_by()` and `after_null()`.
    """

    field: SortField
    descending: bool
    tiebreaker: SQLColumnExpression[Any] | None

    def order_by(self) -> list[SQLColumnExpression[Any]]:
        key = self.field.expression
        clauses: list[SQLColumnExpression[Any]] = [key.desc() if self.descending else key.asc()]
        if self.tiebreaker is not None:
            clauses.append(self.tiebreaker.asc())
        return clauses

    def after(self, value: Any, tiebreak: Any) -> ColumnElement[bool]:
        """Rows with a key strictly after the row whose key is `value` (not None) and tiebreaker
        `tiebreak`. Written as a range on the key plus a filter for ties, so the range is an index bound."""
        key = self.field.expression
        if self.tiebreaker is None:
            beyond: ColumnElement[bool] = key < value if self.descending else key > value
            return beyond
        if self.descending:
            return and_(key <= value, or_(key < value, self.tiebreaker > tiebreak))
        return and_(key >= value, or_(key > value, self.tiebreaker > tiebreak))

    def null_order_by(self) -> list[SQLColumnExpression[Any]]:
        assert self.tiebreaker is not None, "a nullable key needs a tiebreaker"
        return [self.tiebreaker.asc()]

    def after_null(self, tiebreak: Any) -> ColumnElement[bool]:
        """Rows without a key after the keyless row whose tiebreaker is `tiebreak`."""
        assert self.tiebreaker is not None, "a nullable key needs a tiebreaker"
        later: ColumnElement[bool] = self.tiebreaker > tiebreak
        return later
