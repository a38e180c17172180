"""/dashboard/api: the bulk reads behind the dashboard's pages, bounded so one request stays cheap."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import ReadSessionDep, SettingsDep
from app.api.params import NameFilter, SearchId, SearchStates, state_values
from app.api.response_budget import document_response, mib
from app.api.schemas import ErrorResponse
from app.dashboard import service
from app.dashboard.repository import SearchFilter
from app.dashboard.schemas import PlotData, SearchCards
from app.errors import ResponseTooLarge
from app.storage.keyset import MAX_INT

router = APIRouter(prefix="/dashboard/api", tags=["dashboard"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such search."}}


@router.get("/searches")
def search_cards(
    session: ReadSessionDep,
    state: SearchStates = None,
    objective: NameFilter = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200, description="Part of the name.")] = None,
    parent_search_id: Annotated[
        int | None, Query(ge=1, le=MAX_INT, description="Only re-tests of this search.")
    ] = None,
    sort: Annotated[
        str, Query(pattern=r"^-?(id|name|created_at|updated_at)$", description="`-` in front: descending.")
    ] = "-id",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SearchCards:
    """Searches with progress (done / budget), trials per state and best value so far; a page at an offset."""
    where = SearchFilter(
        states=state_values(state), objective=objective, name=name, parent_search_id=parent_search_id
    )
    return service.search_cards(session, where, sort=sort, offset=offset, limit=limit)


@router.get(
    "/searches/{search_id}/plot-data",
    response_model=PlotData,
    responses={
        **NOT_FOUND,
        422: {
            "model": ErrorResponse,
            "description": "`response_too_large`: ask with `params=false`, fewer curves or points.",
        },
    },
)
def plot_data(
    search_id: SearchId,
    session: ReadSessionDep,
    settings: SettingsDep,
    max_curves: Annotated[int, Query(ge=1, le=5000, description="Learning curves at most.")] = 1000,
    max_points_per_curve: Annotated[int, Query(ge=2, le=1000, description="Points per curve at most.")] = 100,
    params: Annotated[
        bool, Query(description="false: leave `trials.params` empty (the history plot needs none).")
    ] = True,
    curves: Annotated[bool, Query(description="false: leave `curves` empty.")] = True,
) -> Response:
    """Every trial (as columns) and down-sampled learning curves of the metric: one request per refresh."""
    data = service.plot_data(
        session,
        search_id,
        max_curves=max_curves if curves else 0,
        max_points_per_curve=max_points_per_curve,
        with_params=params,
    )

    def refuse(size: int) -> ResponseTooLarge:
        # Every trial or none: the plots need the whole search, and the parameters are what grows.
        return ResponseTooLarge(
            "params" if params else "max_curves",
            f"the plot data of search {search_id} takes {mib(size)}, more than the response limit of "
            f"{mib(settings.max_response_bytes)} (CAVIAR_MAX_RESPONSE_BYTES); ask with params=false, "
            "fewer max_curves or max_points_per_curve, or page through "
            f"/searches/{search_id}/trials",
        )

    # Serialised by pydantic in one pass: given the model, FastAPI would first validate its 10,000-long
    # columns again and then encode them with the standard json module (a quarter of the request).
    return document_response(data.model_dump_json(), max_bytes=settings.max_response_bytes, refuse=refuse)
