"""The queries behind the API's list endpoints: filter, sort on a column or a final metric, keyset pages,
and the cheap aggregate fingerprints that ETags are made of (no list body is built to answer a 304).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, not_, select
from sqlalchemy.orm import Bundle, Session

from app.storage.keyset import KeysetOrder, SortField
from app.storage.models import Search, Trial, TrialMetric, Worker

TRIAL_COLUMNS: dict[str, SortField] = {
    "id": SortField(Trial.id, int, nullable=False),
    "number": SortField(Trial.number, int, nullable=False),
    "value": SortField(Trial.value, float),
    "attempt": SortField(Trial.attempt, int, nullable=False),
    "created_at": SortField(Trial.created_at, datetime, nullable=False),
    "updated_at": SortField(Trial.updated_at, datetime, nullable=False),
    "started_at": SortField(Trial.started_at, datetime),
    "finished_at": SortField(Trial.finished_at, datetime),
}
LISTED_TRIAL: Bundle[Row[Any]] = Bundle(
    "trial",
    Trial.id,
    Trial.search_id,
    Trial.number,
    Trial.round,
    Trial.state,
    Trial.params,
    Trial.value,
    Trial.metrics,
    Trial.error,
    Trial.pruned_step,
    Trial.attempt,
    Trial.worker_id,
    Trial.parent_trial_id,
    Trial.branch_step,
    Trial.branch_params,
    Trial.created_at,
    Trial.started_at,
    Trial.finished_at,
    Trial.updated_at,
)
"""The columns a listed trial shows (the API's `TrialOut`), read as plain rows: ORM objects cost about a
fifth more per row, and would load what a list does not show (leases, nudges, run requests)."""
ListedTrial = Row[Any]
"""A row of `LISTED_TRIAL`: the trial's columns by name (`row.id`, `row.params`…)."""
METRIC_VALUE = SortField(Trial.metric_value, float)
"""The search's own metric, in a column of its own (see `Trial.metric_value`)."""
SEARCH_COLUMNS: dict[str, SortField] = {
    "id": SortField(Search.id, int, nullable=False),
    "name": SortField(Search.name, str),
    "created_at": SortField(Search.created_at, datetime, nullable=False),
    "updated_at": SortField(Search.updated_at, datetime, nullable=False),
    "finished_at": SortField(Search.finished_at, datetime),
}
WORKER_COLUMNS: dict[str, SortField] = {
    "id": SortField(Worker.id, str, nullable=False),
    "host": SortField(Worker.host, str, nullable=False),
    "started_at": SortField(Worker.started_at, datetime, nullable=False),
    "heartbeat_at": SortField(Worker.heartbeat_at, datetime, nullable=False),
}


def trial_sort_field(name: str) -> SortField:
    """A trial column, or else the final metric `name` read from the `metrics` JSON as a float."""
    return TRIAL_COLUMNS.get(name) or SortField(Trial.metrics[name].as_float(), float)


@dataclass(frozen=True)
class Position:
    """Where the previous page ended: its last row's key value and tiebreaker."""

    value: Any
    tiebreak: Any


@dataclass(frozen=True)
class TrialFilter:
    search_id: int | None = None
    states: Sequence[str] = ()
    updated_since: datetime | None = None
    objective: str | None = None
    dataset: str | None = None
    metric_is: str | None = None
    """Only trials of searches whose metric is this (their `metric_value` is then that metric)."""
    metric_is_not: str | None = None
    """Only trials of searches whose metric is another."""

    def search_conditions(self) -> list[ColumnElement[bool]]:
        """The conditions on the trials' searches."""
        conditions: list[ColumnElement[bool]] = []
        if self.search_id is not None:
            conditions.append(Search.id == self.search_id)
        if self.objective is not None:
            conditions.append(Search.objective == self.objective)
        if self.dataset is not None:
            conditions.append(Search.dataset == self.dataset)
        if self.metric_is is not None:
            conditions.append(Search.metric == self.metric_is)
        if self.metric_is_not is not None:
            conditions.append(Search.metric != self.metric_is_not)
        return conditions


@dataclass(frozen=True)
class SearchFilter:
    states: Sequence[str] = ()
    objective: str | None = None
    dataset: str | None = None


@dataclass(frozen=True)
class WorkerFilter:
    states: Sequence[str] = ()
    alive: bool | None = None
    alive_since: datetime | None = None


AnySelect = Select[*tuple[Any, ...]]

Fingerprint = tuple[tuple[str, int, str], ...]
"""(state, rows, newest updated_at) per state: changes whenever a row is added or changes state."""


class ListingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def trials(
        self, where: TrialFilter, order: KeysetOrder, after: Position | None, limit: int
    ) -> list[tuple[ListedTrial, Any]]:
        """Up to `limit` (trial, sort key value) pairs after `after`."""
        statement = self._trials_where(select(LISTED_TRIAL, order.field.expression), where)
        return self._page(statement, order, after, limit)

    def trials_fingerprint(self, where: TrialFilter) -> Fingerprint:
        statement = select(Trial.state, func.count(), func.max(Trial.updated_at)).group_by(Trial.state)
        return self._fingerprint(self._trials_where(statement, where))

    def searches(
        self, where: SearchFilter, order: KeysetOrder, after: Position | None, limit: int
    ) -> list[tuple[Search, Any]]:
        statement = select(Search, order.field.expression).where(*self._search_conditions(where))
        return self._page(statement, order, after, limit)

    def searches_fingerprint(self, where: SearchFilter) -> Fingerprint:
        statement = (
            select(Search.state, func.count(), func.max(Search.updated_at))
            .where(*self._search_conditions(where))
            .group_by(Search.state)
        )
        return self._fingerprint(statement)

    def workers(
        self, where: WorkerFilter, order: KeysetOrder, after: Position | None, limit: int
    ) -> list[tuple[Worker, Any]]:
        statement = select(Worker, order.field.expression).where(*self._worker_conditions(where))
        return self._page(statement, order, after, limit)

    def workers_fingerprint(self, where: WorkerFilter) -> Fingerprint:
        statement = (
            select(Worker.state, func.count(), func.max(Worker.heartbeat_at))
            .where(*self._worker_conditions(where))
            .group_by(Worker.state)
        )
        return self._fingerprint(statement)

    def curve_fingerprint(self, trial_id: int) -> tuple[int, int | None]:
        """(points, newest point id) of a trial's learning curve."""
        statement = select(func.count(), func.max(TrialMetric.id)).where(TrialMetric.trial_id == trial_id)
        count, newest = self.session.execute(statement).one()
        return int(count), newest

    def _page(
        self, statement: AnySelect, order: KeysetOrder, after: Position | None, limit: int
    ) -> list[tuple[Any, Any]]:
        """NULLs last: the rows with a key first (skipped when `after` is already past them), then the
        rows without one; each part reads in index order and stops at `limit`."""
        key = order.field.expression
        rows: list[tuple[Any, Any]] = []
        if after is None or after.value is not None:
            keyed = statement.where(key.is_not(None)) if order.field.nullable else statement
            if after is not None:
                keyed = keyed.where(order.after(after.value, after.tiebreak))
            rows = self._rows(keyed.order_by(*order.order_by()).limit(limit))
        if order.field.nullable and len(rows) < limit:
            keyless = statement.where(key.is_(None))
            if after is not None and after.value is None:
                keyless = keyless.where(order.after_null(after.tiebreak))
            rows += self._rows(keyless.order_by(*order.null_order_by()).limit(limit - len(rows)))
        return rows

    def _rows(self, statement: AnySelect) -> list[tuple[Any, Any]]:
        return [(row[0], row[1]) for row in self.session.execute(statement)]

    def _fingerprint(self, statement: AnySelect) -> Fingerprint:
        rows = self.session.execute(statement).all()
        return tuple(sorted((str(state), int(count), str(newest)) for state, count, newest in rows))

    def metric_split(self, where: TrialFilter, name: str) -> tuple[bool, bool]:
        """Whether the searches `where` covers include some whose metric is `name`, and some whose is not."""
        statement = select((Search.metric == name).label("same")).where(*where.search_conditions()).distinct()
        found = {bool(same) for same in self.session.scalars(statement)}
        return True in found, False in found

    @staticmethod
    def _trials_where(statement: AnySelect, where: TrialFilter) -> AnySelect:
        conditions: list[ColumnElement[bool]] = []
        if where.search_id is not None:
            conditions.append(Trial.search_id == where.search_id)
        if where.states:
            conditions.append(Trial.state.in_(list(where.states)))
        if where.updated_since is not None:
            conditions.append(Trial.updated_at >= where.updated_since)
        on_searches = replace(where, search_id=None).search_conditions()
        if on_searches:
            statement = statement.join(Search, Search.id == Trial.search_id).where(*on_searches)
        return statement.where(*conditions)

    @staticmethod
    def _search_conditions(where: SearchFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if where.states:
            conditions.append(Search.state.in_(list(where.states)))
        if where.objective is not None:
            conditions.append(Search.objective == where.objective)
        if where.dataset is not None:
            conditions.append(Search.dataset == where.dataset)
        return conditions

    @staticmethod
    def _worker_conditions(where: WorkerFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if where.states:
            conditions.append(Worker.state.in_(list(where.states)))
        if where.alive is not None and where.alive_since is not None:
            alive = and_(Worker.state != "stopped", Worker.heartbeat_at >= where.alive_since)
            conditions.append(alive if where.alive else not_(alive))
        return conditions
