"""Aggregates for monitoring: rows per state and trial durations, computed in SQL (no rows are loaded)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, SQLColumnExpression, case, func, select
from sqlalchemy.orm import Session

from app.storage.models import Search, Trial, Worker


@dataclass(frozen=True)
class DurationStats:
    """Durations of one state's finished trials: cumulative counts at each bucket bound, sum, count."""

    state: str
    bucket_counts: tuple[int, ...]
    total_seconds: float
    count: int

    def histogram(self) -> dict[str, Any]:
        """As `search_stats.durations` stores one state's histogram: {count, sum, buckets}."""
        return {"count": self.count, "sum": self.total_seconds, "buckets": list(self.bucket_counts)}


class StatsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def trials_by_state(self, search_ids: Collection[int] | None = None) -> dict[str, int]:
        """Rows per state, counted (O(trials)); of the searches `search_ids` only, if given."""
        statement = select(Trial.state, func.count()).group_by(Trial.state)
        if search_ids is not None:
            statement = statement.where(Trial.search_id.in_(list(search_ids)))
        return self._counts(statement)

    def searches_by_state(self) -> dict[str, int]:
        return self._counts(select(Search.state, func.count()).group_by(Search.state))

    def workers_by_state(self) -> dict[str, int]:
        return self._counts(select(Worker.state, func.count()).group_by(Worker.state))

    def workers_alive(self, since: datetime) -> int:
        """Workers that heartbeated at or after `since` and did not say they stopped."""
        statement = select(func.count()).where(Worker.heartbeat_at >= since, Worker.state != "stopped")
        return int(self.session.scalar(statement) or 0)

    def trial_durations(
        self, bounds: Sequence[float], search_ids: Collection[int] | None = None
    ) -> list[DurationStats]:
        """Last-run durations (finished_at − started_at) of trials that ran and finished, per final state;
        of the searches `search_ids` only, if given."""
        seconds = self._seconds_between(Trial.started_at, Trial.finished_at)
        buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
        statement = (
            select(Trial.state, func.count(), func.sum(seconds), *buckets)
            .where(Trial.started_at.is_not(None), Trial.finished_at.is_not(None))
            .group_by(Trial.state)
        )
        if search_ids is not None:
            statement = statement.where(Trial.search_id.in_(list(search_ids)))
        return [
            DurationStats(
                state=str(row[0]),
                count=int(row[1]),
                total_seconds=float(row[2] or 0.0),
                bucket_counts=tuple(int(count or 0) for count in row[3:]),
            )
            for row in self.session.execute(statement)
        ]

    def _counts(self, statement: Select[str, int]) -> dict[str, int]:
        return {str(state): int(count) for state, count in self.session.execute(statement)}

    def _seconds_between(
        self, start: SQLColumnExpression[Any], end: SQLColumnExpression[Any]
    ) -> ColumnElement[float]:
        if self.session.get_bind().dialect.name == "sqlite":
            # SQLite keeps timestamps as text; julianday() reads them as fractional days.
            return (func.julianday(end) - func.julianday(start)) * 86400.0
        return func.extract("epoch", end - start).cast(Float)
