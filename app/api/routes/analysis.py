"""Analysis of a search: hyperparameter importance, re-tests of the best configurations."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from app.api.auth import CallerDep
from app.api.deps import ReadSessionDep, SettingsDep, UnitOfWorkDep
from app.api.params import SearchId
from app.api.response_budget import list_response, mib
from app.api.routes.searches import FORBIDDEN_NOT_OWNER, search_out
from app.api.schemas import ErrorResponse, SearchOut
from app.errors import ClientDisconnected, ResponseTooLarge
from app.services import searches as search_service

router = APIRouter(prefix="/searches", tags=["analysis"])
DISCONNECT_POLL_SECONDS = 0.2
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}}


class RetestRequest(BaseModel):
    top_k: int = Field(default=3, ge=1, le=50, description="How many of the best configurations.")
    repeats: int = Field(default=3, ge=2, le=50, description="Runs of each, with fresh seeds.")
    dataset: str | dict[str, Any] | None = Field(
        default=None, description="Another dataset; default: the same."
    )


class ConfigurationOut(BaseModel):
    params: dict[str, Any]
    runs: int
    completed: int
    mean: float | None
    std: float | None = Field(description="Sample standard deviation over completed runs.")
    values: list[float]
    trial_ids: list[int]


class Importance(BaseModel):
    method: str
    n_trials: int
    n_trees: int = Field(description="Trees of the forest it stands on (100 when complete).")
    n_repeats: int = Field(description="Shuffles of each parameter averaged (10 when complete).")
    complete: bool = Field(
        description="false: CAVIAR_IMPORTANCE_SECONDS ran out first; fewer trees or shuffles, a rougher "
        "estimate."
    )
    importances: dict[str, float] = Field(description="Parameter -> share of importance, largest first.")


@router.get("/{search_id}/importance", responses=ERRORS)
async def importance(
    search_id: SearchId, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> Importance:
    """Which hyperparameters mattered in this search (on its latest completed trials, see the limits)."""
    from app.services.analysis import importance as compute

    # The fit runs in a thread, watched from here: when the client leaves, the thread stops at its next
    # batch instead of working on for nobody.
    cancelled = threading.Event()
    if await request.is_disconnected():
        raise ClientDisconnected(f"importance of search {search_id}: the client disconnected")
    watcher = asyncio.create_task(_set_when_disconnected(request, cancelled))
    try:
        result = await run_in_threadpool(
            compute,
            session,
            search_id,
            max_trials=settings.max_importance_trials,
            seconds=settings.importance_seconds,
            cancelled=cancelled,
        )
    finally:
        watcher.cancel()
    return Importance.model_validate(result)


async def _set_when_disconnected(request: Request, cancelled: threading.Event) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(DISCONNECT_POLL_SECONDS)
    cancelled.set()


@router.post(
    "/{search_id}/retest",
    status_code=status.HTTP_201_CREATED,
    responses={**ERRORS, **FORBIDDEN_NOT_OWNER, 422: {"model": ErrorResponse}},
)
def retest(
    search_id: SearchId,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    caller: CallerDep,
    request: Annotated[RetestRequest | None, Body(description="Optional: no body, the defaults.")] = None,
) -> SearchOut:
    """Re-run the best configurations with fresh seeds as a new linked search (intuitions get stale)."""
    from app.services.analysis import retest as start_retest

    request = request or RetestRequest()
    child, to_enqueue = start_retest(
        uow.session,
        search_id,
        settings,
        top_k=request.top_k,
        repeats=request.repeats,
        dataset=request.dataset,
        caller=caller,
    )
    uow.enqueue_after_commit(to_enqueue)
    return search_out(search_service.search_view(uow.session, child.id, settings))


@router.get(
    "/{search_id}/configurations",
    response_model=list[ConfigurationOut],
    responses={**ERRORS, 422: {"model": ErrorResponse, "description": "`response_too_large`: ask fewer."}},
)
def configurations(
    search_id: SearchId,
    session: ReadSessionDep,
    settings: SettingsDep,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="Only the best `limit` configurations.")
    ] = None,
) -> Response:
    """Trials grouped by configuration with mean ± std; for a re-test, how each configuration holds up."""
    from app.services.analysis import configurations as summarize

    def refuse(fitting: int) -> ResponseTooLarge:
        return ResponseTooLarge(
            "limit",
            f"the configurations pass the response limit of {mib(settings.max_response_bytes)} "
            f"(CAVIAR_MAX_RESPONSE_BYTES); ask for the best limit={max(fitting, 1)}",
        )

    summaries = summarize(session, search_id)[:limit]
    encoded = (ConfigurationOut.model_validate(s, from_attributes=True).model_dump_json() for s in summaries)
    return list_response(encoded, max_bytes=settings.max_response_bytes, refuse=refuse)
