"""The dashboard's read queries: a page of searches with their progress, and a search's trials in bulk.

Kept beside the dashboard rather than in app/storage/repositories: they serve only these views, and read
only (no locks, no writes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, func, select
from sqlalchemy.orm import Session

from app.storage.models import Event, Search, Trial, TrialMetric

SEARCH_SORTS = {
    "id": Search.id,
    "name": Search.name,
    "created_at": Search.created_at,
    "updated_at": Search.updated_at,
}

CurvePoints = tuple[list[int], list[float | None]]
"""(steps, values) of one curve."""


@dataclass(frozen=True)
class SearchFilter:
    states: Sequence[str] = ()
    objective: str | None = None
    name: str | None = None
    """Substring of the name, case-insensitive."""
    parent_search_id: int | None = None


@dataclass(frozen=True)
class TrialFields:
    """Every trial of a search, one list per field, in `number` order."""

    id: list[int]
    number: list[int]
    state: list[str]
    value: list[float | None]
    reported: list[float | None]
    """The search metric's final value whatever the state (a pruned trial's last report)."""
    round: list[int | None]
    params: list[dict[str, Any]]


class DashboardRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def searches(
        self, where: SearchFilter, *, sort: str, offset: int, limit: int
    ) -> tuple[list[Search], int]:
        """One page of searches and how many match in all."""
        conditions = self._conditions(where)
        column = SEARCH_SORTS[sort.lstrip("-")]
        order = column.desc() if sort.startswith("-") else column.asc()
        tiebreak = Search.id.desc() if sort.startswith("-") else Search.id.asc()
        statement = (
            select(Search)
            .where(*conditions)
            .order_by(order.nulls_last(), tiebreak)
            .offset(offset)
            .limit(limit)
        )
        total = self.session.scalar(select(func.count()).select_from(Search).where(*conditions)) or 0
        return list(self.session.scalars(statement)), total

    def counts(self, search_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Trials per state of each search."""
        statement = (
            select(Trial.search_id, Trial.state, func.count())
            .where(Trial.search_id.in_(search_ids))
            .group_by(Trial.search_id, Trial.state)
        )
        counts: dict[int, dict[str, int]] = {search_id: {} for search_id in search_ids}
        for search_id, state, count in self.session.execute(statement):
            counts[search_id][state] = count
        return counts

    def value_range(self, search_ids: Sequence[int]) -> dict[int, tuple[float | None, float | None]]:
        """(lowest, highest) final value of the completed trials of each search."""
        statement = (
            select(Trial.search_id, func.min(Trial.value), func.max(Trial.value))
            .where(Trial.search_id.in_(search_ids), Trial.state == "completed")
            .group_by(Trial.search_id)
        )
        return {search_id: (low, high) for search_id, low, high in self.session.execute(statement)}

    def trial_fields(self, search_id: int, *, with_params: bool = True) -> TrialFields:
        """Without `with_params`, `params` is empty (and nothing JSON is read)."""
        # The params as text, decoded in one json.loads of them all, and rows without the ORM's per-row
        # processing: a 10,000-trial search reads in a third of the time.
        columns: list[Any] = [
            Trial.id,
            Trial.number,
            Trial.state,
            Trial.value,
            Trial.metric_value,
            Trial.round,
        ]
        if with_params:
            columns.append(cast(Trial.params, Text))
        statement = select(*columns).where(Trial.search_id == search_id).order_by(Trial.number)
        rows = self.session.connection().execute(statement).all()
        if not rows:
            return TrialFields([], [], [], [], [], [], [])
        columns_read = (list(column) for column in zip(*rows, strict=True))
        ids, numbers, states, values, reported, rounds, *params = columns_read
        return TrialFields(
            id=ids,
            number=numbers,
            state=states,
            value=values,
            reported=reported,
            round=rounds,
            params=json.loads("[" + ",".join(params[0]) + "]") if params else [],
        )

    def curves(
        self, trial_ids: Sequence[int], metric: str
    ) -> dict[int, tuple[list[int], list[float | None]]]:
        """trial id -> (steps, values) of one metric, by step."""
        curves: dict[int, CurvePoints] = {}
        # Chunks keep the IN list within every backend's bound-parameter limit.
        for start in range(0, len(trial_ids), 900):
            statement = (
                select(TrialMetric.trial_id, TrialMetric.step, TrialMetric.value)
                .where(TrialMetric.trial_id.in_(trial_ids[start : start + 900]), TrialMetric.name == metric)
                .order_by(TrialMetric.trial_id, TrialMetric.step)
            )
            for trial_id, step, value in self.session.execute(statement):
                steps, values = curves.setdefault(trial_id, ([], []))
                steps.append(step)
                values.append(value)
        return curves

    def last_event_id(self, search_id: int) -> int:
        """The newest event of the search (0 if none): where a live feed of it should start."""
        return self.session.scalar(select(func.max(Event.id)).where(Event.search_id == search_id)) or 0

    @staticmethod
    def _conditions(where: SearchFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if where.states:
            conditions.append(Search.state.in_(where.states))
        if where.objective:
            conditions.append(Search.objective == where.objective)
        if where.name:
            escaped = where.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(Search.name.ilike(f"%{escaped}%", escape="\\"))
        if where.parent_search_id is not None:
            conditions.append(Search.parent_search_id == where.parent_search_id)
        return conditions
