"""/searches: create, list, read, cancel; their trials and best configurations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from app.api.auth import CallerDep
from app.api.conditional import ETAG_HEADER_DOC, NOT_MODIFIED_DOC, ConditionalDep
from app.api.deps import ReadSessionDep, SettingsDep, UnitOfWorkDep
from app.api.pagination import decode_cursor
from app.api.params import (
    CursorParam,
    NameFilter,
    SearchId,
    SearchSort,
    SearchStates,
    SortParam,
    TrialStates,
    UpdatedSince,
    state_values,
)
from app.api.response_budget import list_response, mib, page_response
from app.api.schemas import ErrorResponse, Page, SearchOut, SearchSummary, TrialOut
from app.api.trial_json import listed_trial_json, trial_json
from app.errors import ResponseTooLarge
from app.services import listing
from app.services import searches as service
from app.services.idempotency import create_search_once
from app.services.spec_model import SearchSpec

router = APIRouter(prefix="/searches", tags=["searches"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such search."}}
Limit = Annotated[int, Query(ge=1, le=500)]
FORBIDDEN_NOT_OWNER: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "A submit key changes only the searches it created."}
}
CONDITIONAL: dict[int | str, dict[str, Any]] = {200: {"headers": ETAG_HEADER_DOC}, **NOT_MODIFIED_DOC}


def search_out(view: service.SearchView) -> SearchOut:
    search = view.search
    return SearchOut(
        **SearchSummary.model_validate(search).model_dump(),
        spec=search.spec,
        counts=view.counts,
        best=TrialOut.model_validate(view.best) if view.best else None,
        strategy=view.strategy,
        error=search.error,
        waiting=view.waiting,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        422: {
            "model": ErrorResponse,
            "description": "The spec is invalid (nothing was created), or the Idempotency-Key was used "
            "before with a different spec (`idempotency_key_reused`).",
        },
    },
)
def create_search(
    spec: SearchSpec,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    caller: CallerDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="Printable ASCII, at most 200 characters. Makes retries safe: the same key and "
            "spec return the search the first call created.",
        ),
    ] = None,
) -> SearchOut:
    """Create a search and queue its first trials (retries with the same Idempotency-Key: the same search)."""
    search, to_enqueue = create_search_once(
        uow.session, spec, settings, idempotency_key=idempotency_key, created_by_key=caller.key_name
    )
    uow.enqueue_after_commit(to_enqueue)
    response.headers["Location"] = f"/searches/{search.id}"
    return search_out(service.search_view(uow.session, search.id, settings))


@router.get("", response_model=Page[SearchSummary], responses=CONDITIONAL)
def list_searches(
    session: ReadSessionDep,
    settings: SettingsDep,
    conditional: ConditionalDep,
    state: SearchStates = None,
    objective: NameFilter = None,
    dataset: NameFilter = None,
    sort: SearchSort = None,
    cursor: CursorParam = None,
    limit: Limit = 50,
) -> Response:
    """List searches, newest first; sort by `id`, `name`, `created_at`, `updated_at` or `finished_at`."""
    states = state_values(state)
    conditional.check(
        listing.searches_fingerprint(session, states=states, objective=objective, dataset=dataset)
    )
    listed = listing.searches(
        session,
        states=states,
        objective=objective,
        dataset=dataset,
        page=listing.PageRequest(sort=sort, cursor=decode_cursor(cursor), limit=limit),
    )
    return page_response(
        listed,
        lambda search: SearchSummary.model_validate(search).model_dump_json().encode(),
        max_bytes=settings.max_response_bytes,
        headers=conditional.headers,
    )


@router.get("/{search_id}", response_model=SearchOut, responses={**NOT_FOUND, **CONDITIONAL})
def get_search(
    search_id: SearchId, session: ReadSessionDep, settings: SettingsDep, conditional: ConditionalDep
) -> Response:
    """A search with its trial counts per state, best trial so far, strategy progress and any error."""
    found = listing.counted_search(session, search_id)
    served = service.is_served(session, found.search, settings)
    conditional.check((*listing.search_fingerprint(session, found), served))  # `waiting` changes too
    # The body is serialised here, once: returning the model would have FastAPI validate it again first.
    body = search_out(service.polled_view(session, found, served=served)).model_dump_json()
    return Response(body, media_type="application/json", headers=conditional.headers)


@router.post(
    "/{search_id}/cancel", responses={**NOT_FOUND, **FORBIDDEN_NOT_OWNER, 409: {"model": ErrorResponse}}
)
def cancel_search(
    search_id: SearchId, uow: UnitOfWorkDep, settings: SettingsDep, caller: CallerDep
) -> SearchOut:
    """Cancel a running search; its queued and running trials are cancelled."""
    service.cancel_search(uow.session, search_id, caller)
    return search_out(service.search_view(uow.session, search_id, settings))


@router.get("/{search_id}/trials", response_model=Page[TrialOut], responses={**NOT_FOUND, **CONDITIONAL})
def list_trials(
    search_id: SearchId,
    session: ReadSessionDep,
    settings: SettingsDep,
    conditional: ConditionalDep,
    state: TrialStates = None,
    updated_since: UpdatedSince = None,
    sort: SortParam = None,
    cursor: CursorParam = None,
    limit: Limit = 100,
) -> Response:
    """Trials of a search with params, state and final metrics; in creation order (`number`) by default.

    `sort` takes a column (`number`, `id`, `value`, `attempt`, `created_at`, `updated_at`, `started_at`,
    `finished_at`) or any final metric name, e.g. `-dev_accuracy`.
    """
    states = state_values(state)
    found = listing.counted_search(session, search_id)
    conditional.check(
        listing.search_trials_fingerprint(session, found, states=states, updated_since=updated_since)
    )
    listed = listing.search_trials(
        session,
        found,
        states=states,
        updated_since=updated_since,
        page=listing.PageRequest(sort=sort, cursor=decode_cursor(cursor), limit=limit),
    )
    return page_response(
        listed, listed_trial_json, max_bytes=settings.max_response_bytes, headers=conditional.headers
    )


@router.get(
    "/{search_id}/best",
    response_model=list[TrialOut],
    responses={**NOT_FOUND, 422: {"model": ErrorResponse, "description": "`response_too_large`: ask fewer."}},
)
def best_trials(
    search_id: SearchId,
    session: ReadSessionDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, le=100)] = 5,
) -> Response:
    """The k best completed trials, best first, by the search's metric and direction."""

    def refuse(fitting: int) -> ResponseTooLarge:
        return ResponseTooLarge(
            "k",
            f"the {k} best trials pass the response limit of {mib(settings.max_response_bytes)} "
            f"(CAVIAR_MAX_RESPONSE_BYTES); ask for k={max(fitting, 1)} or page through "
            f"/searches/{search_id}/trials?sort=-value (or sort=value when minimizing)",
        )

    best = service.best_trials(session, search_id, k)
    return list_response(map(trial_json, best), max_bytes=settings.max_response_bytes, refuse=refuse)
