"""Ask/tell for `external` searches: take a trial, report its steps, tell how it ended; any language."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.api.deps import SettingsDep, UnitOfWorkDep
from app.api.params import SearchId, TrialId
from app.api.schemas import ErrorResponse, TrialOut
from app.services import external_trials as service

router = APIRouter(tags=["ask/tell"])

RETRY_AFTER_SECONDS = 1
MetricName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Metrics = Annotated[dict[MetricName, float], Field(max_length=100, examples=[{"loss": 0.31}])]
Attempt = Annotated[
    int, Field(ge=1, le=2**31 - 1, description="The `attempt` the ask answered with: the run you hold.")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such search or trial."},
    409: {
        "model": ErrorResponse,
        "description": "The search is finished or not external, or this attempt no longer holds its lease.",
    },
}


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asker: str | None = Field(
        default=None, min_length=1, max_length=200, description="Who evaluates: shown as the worker_id."
    )


class AskedTrial(BaseModel):
    """A trial to evaluate, held until `lease_expires_at` unless a report renews the lease."""

    id: int
    search_id: int
    number: int
    attempt: int = Field(description="Send it back with every report and the tell.")
    params: dict[str, Any]
    seed: int = Field(description="Use it for everything random in this run, to make it reproducible.")
    metric: str
    direction: str
    lease_expires_at: datetime
    lease_seconds: float


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempt: Attempt
    step: int = Field(ge=0, le=2**31 - 1, description="Epoch, iteration or any growing resource count.")
    metrics: Metrics


class ReportOut(BaseModel):
    should_stop: bool = Field(description="The search's pruner wants this trial stopped: tell `pruned`.")
    lease_expires_at: datetime


class TellRequest(BaseModel):
    """`{"attempt", "metrics"}` for a completed run; `"state": "failed"` with an `error`; `"pruned"`;
    or `"released"` to hand the trial back untold (it goes to the next ask)."""

    model_config = ConfigDict(extra="forbid")

    attempt: Attempt
    state: Literal["completed", "failed", "pruned", "released"] = "completed"
    metrics: Metrics | None = None
    error: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _completed_has_metrics(self) -> TellRequest:
        if self.state == "completed" and not self.metrics:
            raise ValueError("a completed trial needs its `metrics` (with the search's metric)")
        return self


@router.post(
    "/searches/{search_id}/ask",
    response_model=AskedTrial,
    responses={
        204: {
            "description": "Nothing to evaluate right now (every trial is held, or the strategy waits for "
            "results): ask again after `Retry-After` seconds.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
        },
        **ERRORS,
    },
)
def ask(
    search_id: SearchId,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    request: Request,
    body: Annotated[AskRequest | None, Body(description="Optional: who asks.")] = None,
) -> Any:
    """Take the next trial of an `external` search, with a lease; 204 when none is available now."""
    client = request.client.host if request.client else "unknown"
    asker = body.asker if body and body.asker else f"http:{client}"
    lease = service.ask(uow.session, search_id, settings, asker=asker)
    if lease is None:
        return Response(
            status_code=status.HTTP_204_NO_CONTENT, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    run = lease.run
    return AskedTrial(
        id=run.trial_id,
        search_id=run.search_id,
        number=run.number,
        attempt=run.attempt,
        params=run.params,
        seed=run.seed,
        metric=run.metric,
        direction=run.direction,
        lease_expires_at=lease.expires_at,
        lease_seconds=settings.ask_lease_seconds,
    )


@router.post("/trials/{trial_id}/report", responses=ERRORS)
def report(trial_id: TrialId, body: ReportRequest, uow: UnitOfWorkDep, settings: SettingsDep) -> ReportOut:
    """Record one learning-curve point of a trial you hold; renews its lease; says whether to stop."""
    verdict = service.report(uow.session, trial_id, body.attempt, body.step, body.metrics, settings)
    return ReportOut(should_stop=verdict.should_stop, lease_expires_at=verdict.lease_expires_at)


@router.post("/trials/{trial_id}/tell", responses=ERRORS)
def tell(trial_id: TrialId, body: TellRequest, uow: UnitOfWorkDep) -> TrialOut:
    """Tell how a trial you hold ended (or hand it back); the same tell again answers the same."""
    trial = service.tell(
        uow.session, trial_id, body.attempt, body.state, metrics=body.metrics, error=body.error
    )
    return TrialOut.model_validate(trial)
