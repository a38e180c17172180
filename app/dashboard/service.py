"""What the dashboard pages read: searches with their progress, and one search's plot data in bulk."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.dashboard.downsample import spread_pick, stride_points
from app.dashboard.repository import DashboardRepository, SearchFilter, TrialFields
from app.dashboard.schemas import Curve, PlotData, SearchCard, SearchCards, TrialColumns
from app.services.searches import get_search
from app.storage.models import Search

FINISHED = ("completed", "pruned", "failed", "cancelled")
STARTED = ("running", "paused", "completed", "pruned", "failed")


def search_cards(session: Session, where: SearchFilter, *, sort: str, offset: int, limit: int) -> SearchCards:
    repository = DashboardRepository(session)
    searches, total = repository.searches(where, sort=sort, offset=offset, limit=limit)
    ids = [search.id for search in searches]
    counts = repository.counts(ids) if ids else {}
    ranges = repository.value_range(ids) if ids else {}
    items = [_card(search, counts[search.id], ranges.get(search.id, (None, None))) for search in searches]
    return SearchCards(items=items, total=total, offset=offset, limit=limit)


def plot_data(
    session: Session, search_id: int, *, max_curves: int, max_points_per_curve: int, with_params: bool = True
) -> PlotData:
    """All trials as columns, and the search metric's learning curves of at most `max_curves` trials.

    When more trials have curves than that, the curves drawn are spread evenly over the trial numbers and
    always include the best trial's; each curve keeps at most `max_points_per_curve` points (its last
    point always: where a pruned trial stopped). Without `with_params`, `trials.params` is empty.
    """
    search = get_search(session, search_id)
    repository = DashboardRepository(session)
    # Read first: an event committed while the rows are read is then replayed by the feed, never lost.
    last_event_id = repository.last_event_id(search_id)
    fields = repository.trial_fields(search_id, with_params=with_params)
    best_id = _best(fields, maximize=search.direction == "maximize")
    started = [trial_id for trial_id, state in zip(fields.id, fields.state, strict=True) if state in STARTED]
    always = [best_id] if best_id else []
    picked = spread_pick(started, max_curves, always=always) if started and max_curves else []
    curves = [
        Curve(trial_id=trial_id, steps=steps, values=values)
        for trial_id, (all_steps, all_values) in repository.curves(picked, search.metric).items()
        for steps, values in [stride_points(all_steps, all_values, max_points_per_curve)]
    ]
    return PlotData(
        search_id=search.id,
        metric=search.metric,
        direction=search.direction,
        best_trial_id=best_id,
        trials=_columns(fields),
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


def _best(fields: TrialFields, *, maximize: bool) -> int | None:
    """The id of the best completed trial."""
    completed = [
        (value if maximize else -value, trial_id)
        for trial_id, state, value in zip(fields.id, fields.state, fields.value, strict=True)
        if state == "completed" and value is not None
    ]
    # max() of (score, id) would break ties by the larger id; the first trial to reach the best wins.
    return max(completed, key=lambda scored: scored[0])[1] if completed else None


def _columns(fields: TrialFields) -> TrialColumns:
    names = sorted({name for params in fields.params for name in params})
    params: dict[str, list[Any]] = {name: [row.get(name) for row in fields.params] for name in names}
    return TrialColumns(
        id=fields.id,
        number=fields.number,
        state=fields.state,
        value=fields.value,
        reported=fields.reported,
        round=fields.round,
        params=params,
    )
