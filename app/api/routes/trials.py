"""/trials: trials across searches (the best ever on a dataset), and one trial with its learning curve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from app.api.auth import CallerDep
from app.api.conditional import ETAG_HEADER_DOC, NOT_MODIFIED_DOC, ConditionalDep
from app.api.deps import ReadSessionDep, SettingsDep, UnitOfWorkDep
from app.api.pagination import decode_cursor
from app.api.params import (
    CursorParam,
    NameFilter,
    SortParam,
    TrialId,
    TrialStates,
    UpdatedSince,
    state_values,
)
from app.api.response_budget import document_response, mib, page_response
from app.api.schemas import (
    BranchOut,
    BranchRequest,
    CurvePoint,
    ErrorResponse,
    Page,
    Resume,
    TrialControls,
    TrialDetail,
    TrialOut,
    TrialStatus,
)
from app.api.trial_json import listed_trial_json
from app.errors import NotFound, ResponseTooLarge
from app.services import listing, trial_pauses
from app.services.branches import branch_trial
from app.services.trial_controls import request_nudge
from app.storage.keyset import MAX_INT
from app.storage.repositories import EventRepository, TrialRepository

router = APIRouter(prefix="/trials", tags=["trials"])
RESUME_FIELDS = ("step", "attempt", "from_attempt", "from_trial_id")
CONDITIONAL: dict[int | str, dict[str, Any]] = {200: {"headers": ETAG_HEADER_DOC}, **NOT_MODIFIED_DOC}


@router.get("", response_model=Page[TrialOut], responses=CONDITIONAL)
def list_all_trials(
    session: ReadSessionDep,
    settings: SettingsDep,
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
) -> Response:
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
    return page_response(
        listed, listed_trial_json, max_bytes=settings.max_response_bytes, headers=conditional.headers
    )


@router.get(
    "/{trial_id}",
    response_model=TrialDetail,
    responses={
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse, "description": "`response_too_large`: ask with `curve=false`."},
        **CONDITIONAL,
    },
)
def get_trial(
    trial_id: TrialId,
    session: ReadSessionDep,
    settings: SettingsDep,
    conditional: ConditionalDep,
    with_curve: Annotated[
        bool, Query(alias="curve", description="false: leave `curve` empty (the trial alone).")
    ] = True,
) -> Response:
    """A trial with its per-epoch learning curve."""
    conditional.check(listing.trial_fingerprint(session, trial_id))
    trials = TrialRepository(session)
    trial = trials.get(trial_id)
    if trial is None:
        raise NotFound(f"trial {trial_id} does not exist")
    points: dict[int, dict[str, float | None]] = {}
    for point in trials.curve(trial_id) if with_curve else ():
        points.setdefault(point.step, {})[point.name] = point.value
    curve = [CurvePoint(step=step, metrics=metrics) for step, metrics in sorted(points.items())]
    detail = TrialDetail(
        **TrialOut.model_validate(trial).model_dump(),
        run_request=trial.run_request,
        curve=curve,
        nudges=trial.nudges or [],
        controls_pending=trial.controls_pending or [],
        branches=[
            BranchOut(trial_id=branch_id, step=step) for branch_id, step in trials.branches_of(trial_id)
        ],
        resumes=[
            Resume(**{name: payload.get(name) for name in RESUME_FIELDS}, at=at)
            for at, payload in EventRepository(session).resumes_of(trial_id)
        ],
    )

    def refuse(size: int) -> ResponseTooLarge:
        return ResponseTooLarge(
            "curve",
            f"trial {trial_id} with its learning curve of {len(curve)} steps takes {mib(size)}, more than "
            f"the response limit of {mib(settings.max_response_bytes)} (CAVIAR_MAX_RESPONSE_BYTES); "
            "ask with curve=false",
        )

    return document_response(
        detail.model_dump_json(),
        max_bytes=settings.max_response_bytes,
        refuse=refuse,
        headers=conditional.headers,
    )


@router.patch(
    "/{trial_id}/controls",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TrialControls,
    responses={
        403: {"model": ErrorResponse, "description": "A submit key nudges only its own searches' trials."},
        404: {"model": ErrorResponse},
        409: {"model": ErrorResponse, "description": "The trial is not running."},
        422: {"model": ErrorResponse, "description": "A control the objective does not let change live."},
    },
)
def nudge_trial(
    trial_id: TrialId,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    controls: Annotated[
        dict[str, Any],
        Body(
            description="Live hyperparameters to change, e.g. mlp's learning_rate, l2, keep_prob, the "
            "optimizer's beta/beta1/beta2, decay_rate.",
            examples=[{"learning_rate": 0.003}],
        ),
    ],
) -> TrialControls:
    """Change hyperparameters of a running trial from its next epoch (a nudge)."""
    trial = request_nudge(uow.session, trial_id, controls, caller)
    return TrialControls(trial_id=trial.id, pending=trial.controls_pending or [], nudges=trial.nudges or [])


@router.post(
    "/{trial_id}/branch",
    status_code=status.HTTP_201_CREATED,
    response_model=TrialOut,
    responses={
        403: {"model": ErrorResponse, "description": "A submit key branches only its own searches' trials."},
        404: {"model": ErrorResponse},
        409: {"model": ErrorResponse, "description": "The search was cancelled or failed."},
        422: {
            "model": ErrorResponse,
            "description": "`params.<name>`: not live-adjustable or out of range; `from_step`: no checkpoint "
            "at that step (the message lists those kept).",
        },
    },
)
def create_branch(
    trial_id: TrialId, request: BranchRequest, uow: UnitOfWorkDep, caller: CallerDep
) -> TrialOut:
    """Start a new trial from this trial's checkpoint at a step, with changed hyperparameters."""
    trial, jobs = branch_trial(uow.session, trial_id, request.from_step, request.params, caller)
    uow.enqueue_after_commit(jobs)
    return TrialOut.model_validate(trial)


RUN_CONTROL_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": TrialStatus, "description": "Asked: the worker acts after the trial's current epoch."},
    403: {"model": ErrorResponse, "description": "A submit key changes only its own searches' trials."},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse, "description": "The trial is in a state this cannot change."},
}


def run_control_answer(
    control: trial_pauses.RunControl, uow: UnitOfWorkDep, response: Response
) -> TrialStatus:
    """200 when the trial is in the state asked for, 202 while its worker has yet to act."""
    uow.enqueue_after_commit(control.to_enqueue)
    response.status_code = status.HTTP_200_OK if control.settled else status.HTTP_202_ACCEPTED
    return TrialStatus.model_validate(control.trial)


@router.post("/{trial_id}/pause", response_model=TrialStatus, responses=RUN_CONTROL_RESPONSES)
def pause_trial(trial_id: TrialId, uow: UnitOfWorkDep, caller: CallerDep, response: Response) -> TrialStatus:
    """Pause a trial: a running one checkpoints after its current epoch and frees its worker (202); a
    queued one is paused at once (200). Pausing a paused trial answers 200."""
    return run_control_answer(trial_pauses.pause(uow.session, trial_id, caller), uow, response)


@router.post("/{trial_id}/resume", response_model=TrialStatus, responses=RUN_CONTROL_RESPONSES)
def resume_trial(trial_id: TrialId, uow: UnitOfWorkDep, caller: CallerDep, response: Response) -> TrialStatus:
    """Queue a paused trial again; the next worker continues from its checkpoint. A pause not done yet is
    called off; a queued or running trial is left as it is (200)."""
    return run_control_answer(trial_pauses.resume(uow.session, trial_id, caller), uow, response)


@router.post("/{trial_id}/stop", response_model=TrialStatus, responses=RUN_CONTROL_RESPONSES)
def stop_trial(trial_id: TrialId, uow: UnitOfWorkDep, caller: CallerDep, response: Response) -> TrialStatus:
    """End a running or paused trial after its current epoch as completed, with its best epoch so far
    (202); stopping a completed trial answers 200."""
    return run_control_answer(trial_pauses.stop(uow.session, trial_id, caller), uow, response)
