"""Response models of the dashboard's bulk JSON endpoints (documented in docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class SearchCard(BaseModel):
    """A search as the searches page shows it: the summary plus progress and the best value so far."""

    id: int
    name: str | None
    state: str
    objective: str
    dataset: str = Field(description="The dataset's name as the spec gave it.")
    metric: str
    direction: str
    strategy: str = Field(description="The strategy's kind, e.g. `coarse_to_fine`.")
    budget: int = Field(description="`budget.max_trials`.")
    done: int = Field(description="Trials that finished: completed, pruned, failed or cancelled.")
    counts: dict[str, int]
    best_value: float | None
    parent_search_id: int | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class SearchCards(BaseModel):
    items: list[SearchCard]
    total: int = Field(description="Searches matching the filters, over all pages.")
    offset: int
    limit: int


class TrialColumns(BaseModel):
    """Every trial of the search, one list per field, all in `number` order (columns, not rows: compact)."""

    id: list[int]
    number: list[int]
    state: list[str]
    value: list[float | None]
    reported: list[float | None] = Field(
        description="`value`, or for a pruned trial the metric it last reported before it was stopped."
    )
    round: list[int | None]
    params: dict[str, list[Any]] = Field(
        description="Parameter name -> its value in each trial (null: absent)."
    )


class Curve(BaseModel):
    trial_id: int
    steps: list[int]
    values: list[float | None]


class PlotData(BaseModel):
    search_id: int
    metric: str
    direction: str
    best_trial_id: int | None
    trials: TrialColumns
    curves: list[Curve] = Field(description="Learning curves of the search's metric, down-sampled.")
    curves_total: int = Field(description="Trials that have a curve, shown or not.")
    last_event_id: int = Field(
        description="The search's newest event when this was read: follow `/events?after=` it."
    )
