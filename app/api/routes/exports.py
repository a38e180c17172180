"""/searches/{id}/trials.csv: a search's trials as a table for pandas, R or a spreadsheet."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.conditional import ETAG_HEADER_DOC, NOT_MODIFIED_DOC, ConditionalDep
from app.api.deps import ReadSessionDep, SettingsDep, streamed_read
from app.api.params import SearchId, TrialStates, state_values
from app.api.schemas import ErrorResponse
from app.services import listing
from app.services.exports import trials_csv

router = APIRouter(prefix="/searches", tags=["searches"])

EXAMPLE_CSV = (
    "id,number,state,value,round,attempt,pruned_step,error,worker_id,created_at,started_at,finished_at,"
    "params_learning_rate,metrics_dev_accuracy\n"
    "1,0,completed,0.9611,,1,,,host-41-a1b2c3,2026-11-24T10:00:00+00:00,2026-11-24T10:00:00.5+00:00,"
    "2026-11-24T10:00:02+00:00,0.0031,0.9611\n"
)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One row per trial: fixed columns, then `params_<name>` and `metrics_<name>`.",
        "content": {"text/csv": {"schema": {"type": "string"}, "example": EXAMPLE_CSV}},
        "headers": ETAG_HEADER_DOC,
    },
    404: {"model": ErrorResponse, "description": "No such search."},
    **NOT_MODIFIED_DOC,
}


@router.get("/{search_id}/trials.csv", response_class=StreamingResponse, responses=RESPONSES)
def export_trials_csv(
    search_id: SearchId,
    session: ReadSessionDep,
    settings: SettingsDep,
    conditional: ConditionalDep,
    state: TrialStates = None,
) -> StreamingResponse:
    """The search's trials as CSV (`pandas.read_csv(url)`), in creation order, streamed."""
    states = state_values(state)
    found = listing.counted_search(session, search_id)
    conditional.check(listing.search_trials_fingerprint(session, found, states=states))
    body = streamed_read(settings, partial(trials_csv, search_id=search_id, states=states))
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="search-{search_id}-trials.csv"',
            **conditional.headers,
        },
    )
