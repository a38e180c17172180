"""/trials: trials across searches (the best ever on a dataset), and one trial with its learning curve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.conditional import ETAG_HEADER_DOC, NOT_MODIFIED_DOC, ConditionalDep
from app.api.deps import ReadSessionDep
from app.api.pagination import decode_cursor, encode_cursor
from app.api.params import (
    CursorParam,
    NameFilter,
    SortParam,
    TrialId,
    TrialStates,
    UpdatedSince,
    state_values,
)
from app.api.schemas import CurvePoint, ErrorResponse, Page, TrialDetail, TrialOut
from app.errors import NotFound
from app.services import listing
from app.storage.keyset import MAX_INT
from app.storage.repositories import TrialRepository

router = APIRouter(prefix="/trials", tags=["trials"])
CONDITIONAL: dict[int | str, dict[str, Any]] = {200: {"headers": ETAG_HEADER_DOC}, **NOT_MODIFIED_DOC}


@router.get("", responses=CONDITIONAL)
def list_all_trials(
    session: ReadSessionDep,
    conditional: ConditionalDep,
    objective: NameFilter = None,
    dataset: Annotated[
        str | None, Query(min_length=1, max_length=200, description="A dataset name or uploaded id.")
    ] = None,
    search_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    state: TrialStates = None,
    updated_since: UpdatedSince = None,
    sort: SortParam = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[TrialOut]:
    """Trials across searches, e.g. `?objective=mlp&dataset=digits&state=completed&sort=-dev_accuracy`.

    Newest first by default; `sort` takes a trial column or any final metric name, NULLs last.
    """
    filters: dict[str, Any] = {
        "objective": objective,
        "dataset": dataset,
        "search_id": search_id,
        "states": state_values(state),
        "updated_since": updated_since,
    }
    conditional.check(listing.all_trials_fingerprint(session, **filters))
    page = listing.PageRequest(sort=sort, cursor=decode_cursor(cursor), limit=limit)
    listed = listing.all_trials(session, page=page, **filters)
    return Page(
        items=[TrialOut.model_validate(t) for t in listed.items],
        next_cursor=encode_cursor(listed.next_cursor) if listed.next_cursor else None,
    )


@router.get("/{trial_id}", responses={404: {"model": ErrorResponse}, **CONDITIONAL})
def get_trial(trial_id: TrialId, session: ReadSessionDep, conditional: ConditionalDep) -> TrialDetail:
    """A trial with its per-epoch learning curve."""
    conditional.check(listing.trial_fingerprint(session, trial_id))
    trials = TrialRepository(session)
    trial = trials.get(trial_id)
    if trial is None:
        raise NotFound(f"trial {trial_id} does not exist")
    points: dict[int, dict[str, float | None]] = {}
    for point in trials.curve(trial_id):
        points.setdefault(point.step, {})[point.name] = point.value
    curve = [CurvePoint(step=step, metrics=metrics) for step, metrics in sorted(points.items())]
    return TrialDetail(**TrialOut.model_validate(trial).model_dump(), curve=curve)
