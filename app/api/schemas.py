"""Response models of the HTTP API (request models live with the spec, in app/services/spec_model.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid_spec"])
    message: str = Field(examples=["`low <= high` must hold, got low=1.0, high=0.1"])
    field: str | None = Field(default=None, examples=["space.learning_rate.low"])
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Request validation errors only: every problem found, not just the first."
    )


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorBody


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class TrialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    search_id: int
    number: int
    round: int | None
    state: str = Field(examples=["completed"])
    params: dict[str, Any]
    value: float | None = Field(description="Final value of the search's metric.")
    metrics: dict[str, float | None] | None
    error: str | None
    pruned_step: int | None
    attempt: int
    worker_id: str | None
    parent_trial_id: int | None = Field(
        default=None, description="A branch's parent: the trial whose checkpoint it started from."
    )
    branch_step: int | None = Field(
        default=None, description="The parent's step whose checkpoint the branch continues."
    )
    branch_params: dict[str, Any] | None = Field(
        default=None, description="The hyperparameters the branch changed from that step."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


class BranchRequest(BaseModel):
    """Where a branch starts and what it changes."""

    model_config = ConfigDict(extra="forbid")

    from_step: int = Field(
        ge=1,
        le=2**31 - 1,
        description="The parent's step (epoch) whose checkpoint it continues.",
        examples=[12],
    )
    params: dict[str, Any] = Field(
        default={},
        description="Live hyperparameters to change from that step (those a nudge may change); none: "
        "continue the parent's run exactly.",
        examples=[{"learning_rate": 0.001}],
    )


class CurvePoint(BaseModel):
    step: int
    metrics: dict[str, float | None]


class NudgeRequest(BaseModel):
    """A live change asked of a running trial and not applied yet."""

    changes: dict[str, Any] = Field(examples=[{"learning_rate": 0.003}])
    by: str = Field(description='The API key\'s name, or "anyone" when keys are off.')
    requested_at: datetime


class Change(BaseModel):
    old: Any
    new: Any


class Nudge(NudgeRequest):
    """A live change the trial applied: its training used the new values from `step` on."""

    step: int = Field(description="The first epoch (learning-curve step) trained with the new values.")
    changes: dict[str, Change] = Field(examples=[{"learning_rate": {"old": 0.01, "new": 0.003}}])
    at: datetime = Field(description="When the worker applied it.")


class TrialControls(BaseModel):
    trial_id: int
    pending: list[NudgeRequest] = Field(description="Asked, to be applied before the trial's next epoch.")
    nudges: list[Nudge] = Field(description="Applied so far, oldest first.")


class BranchOut(BaseModel):
    """A trial branched from this one, and the step it started from."""

    trial_id: int
    step: int


class RunRequest(BaseModel):
    """A pause or stop asked of a trial that its worker has not done yet (it acts after the current epoch)."""

    action: str = Field(examples=["pause"], description="`pause` or `stop`.")
    by: str = Field(description='The API key\'s name, or "anyone" when keys are off.')
    requested_at: datetime


class TrialStatus(TrialOut):
    run_request: RunRequest | None = Field(
        default=None, description="A pause or stop asked and not done yet; null: none."
    )


class Resume(BaseModel):
    """A run that continued from a checkpoint instead of starting over (a lost worker's, a pause's, a
    branch's first): where on the curve, and whose checkpoint."""

    step: int = Field(description="The checkpoint's step: the run trained from the next one.")
    attempt: int
    from_attempt: int = Field(description="The attempt that wrote the checkpoint.")
    from_trial_id: int | None = Field(default=None, description="For a branch's start: its parent.")
    at: datetime


class TrialDetail(TrialStatus):
    curve: list[CurvePoint] = Field(
        description="Per-epoch metrics of the current attempt, preceded by those of earlier attempts up to "
        "the checkpoint it resumed from (one continuous line)."
    )
    nudges: list[Nudge] = Field(default=[], description="Live changes the trial applied, oldest first.")
    controls_pending: list[NudgeRequest] = Field(
        default=[], description="Live changes asked and not applied yet (see PATCH /trials/{id}/controls)."
    )
    branches: list[BranchOut] = Field(
        default=[], description="Trials branched from this one (POST /trials/{id}/branch), oldest first."
    )
    resumes: list[Resume] = Field(
        default=[], description="Runs of the trial that continued from a checkpoint, oldest first."
    )


class SearchSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    state: str = Field(examples=["running"])
    objective: str
    dataset: str | None
    metric: str
    direction: str
    seed: int
    parent_search_id: int | None
    created_by_key: str | None = Field(
        default=None, description="Name of the API key that created it; null when keys were not required."
    )
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class SearchOut(SearchSummary):
    spec: dict[str, Any] = Field(description="The spec as stored, defaults filled in.")
    counts: dict[str, int] = Field(description="Trials per state.")
    best: TrialOut | None
    strategy: dict[str, Any] = Field(description="Strategy progress, e.g. coarse-to-fine rounds and boxes.")
    error: str | None = Field(
        default=None, description="Why a `failed` search failed: its first trial error.", examples=[None]
    )
    waiting: str | None = Field(
        default=None,
        description="Why queued trials are not running, e.g. no live worker runs the objective.",
        examples=[None],
    )


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: str
    redis: str
