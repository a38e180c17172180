"""What the dashboard pages read: searches with their progress, and one search's plot data in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.dashboard.downsample import spread_pick, stride_points
from app.dashboard.repository import DashboardRepository, SearchFilter, TrialRow
from app.dashboard.schemas import Curve, PlotData, SearchCard, SearchCards, TrialColumns
from app.services.searches import get_search
from app.storage.models import Search

FINISHED = ("completed", "pruned", "failed", "cancelled")
STARTED = ("running", "completed", "pruned", "failed")


def search_cards(session: Session, where: SearchFilter, *, sort: str, offset: int, limit: int) -> SearchCards:
    repository = DashboardRepository(session)
    searches, total = repository.searches(where, sort=sort, offset=offset, limit=limit)
    ids = [search.id for search in searches]
    counts = repository.counts(ids) if ids else {}
    ranges = repository.value_range(ids) if ids else {}
    items = [_card(search, counts[search.id], ranges.get(search.id, (None, None))) for search in searches]
    return SearchCards(items=items, total=total, offset=offset, limit=limit)


def plot_data(session: Session, search_id: int, *, max_curves: int, max_points_per_curve: int) -> PlotData:
    """All trials as columns, and the search metric's learning curves of at most `max_curves` trials.

    When more trials have curves than that, the curves drawn are spread evenly over the trial numbers and
    always include the best trial's; each curve keeps at most `max_points_per_curve` points (its last
    point always: where a pruned trial stopped).
    """
    search = get_search(session, search_id)
    repository = DashboardRepository(session)
    # Read first: an event committed while the rows are read is then replayed by the feed, never lost.
    last_event_id = repository.last_event_id(search_id)
    rows = repository.trial_rows(search_id)
    best = _best(rows, maximize=search.direction == "maximize")
    started = [row.id for row in rows if row.state in STARTED]
    picked = spread_pick(started, max_curves, always=[best.id] if best else []) if started else []
    curves = [
        Curve(trial_id=trial_id, steps=steps, values=values)
        for trial_id, (all_steps, all_values) in repository.curves(picked, search.metric).items()
        for steps, values in [stride_points(all_steps, all_values, max_points_per_curve)]
    ]
    return PlotData(
        search_id=search.id,
        metric=search.metric,
        direction=search.direction,
        best_trial_id=best.id if best else None,
        trials=_columns(rows, search.metric),
        curves=curves,
        curves_total=len(started),
        last_event_id=last_event_id,
    )


def _card(
    search: Search, counts: dict[str, int], value_range: tuple[float | None, float | None]
) -> SearchCard:
    low, high = value_range
    spec_dataset = search.spec.get("dataset")
    dataset = spec_dataset.get("name", search.dataset) if isinstance(spec_dataset, dict) else spec_dataset
    return SearchCard(
        id=search.id,
        name=search.name,
        state=search.state,
        objective=search.objective,
        dataset=str(dataset or search.dataset),
        metric=search.metric,
        direction=search.direction,
        strategy=str(search.spec.get("strategy", {}).get("kind", "")),
        budget=int(search.spec.get("budget", {}).get("max_trials", 0)),
        done=sum(counts.get(state, 0) for state in FINISHED),
        counts=counts,
        best_value=high if search.direction == "maximize" else low,
        parent_search_id=search.parent_search_id,
        created_at=search.created_at,
        updated_at=search.updated_at,
        finished_at=search.finished_at,
    )


def _best(rows: Sequence[TrialRow], *, maximize: bool) -> TrialRow | None:
    best: TrialRow | None = None
    best_score = float("-inf")
    for row in rows:
        if row.state != "completed" or row.value is None:
            continue
        score = row.value if maximize else -row.value
        if score > best_score:
            best, best_score = row, score
    return best


def _reported(row: TrialRow, metric: str) -> float | None:
    # A pruned trial has no `value`, but its final metrics hold what it last reported.
    if row.value is not None:
        return row.value
    reported = (row.metrics or {}).get(metric)
    return float(reported) if isinstance(reported, int | float) else None


def _columns(rows: Sequence[TrialRow], metric: str) -> TrialColumns:
    names = sorted({name for row in rows for name in row.params})
    params: dict[str, list[Any]] = {name: [row.params.get(name) for row in rows] for name in names}
    return TrialColumns(
        id=[row.id for row in rows],
        number=[row.number for row in rows],
        state=[row.state for row in rows],
        value=[row.value for row in rows],
        reported=[_reported(row, metric) for row in rows],
        round=[row.round for row in rows],
        params=params,
    )
