"""The search spec as users write it: shape checked here, meaning checked by the domain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.domain.strategies import DEFAULT_STRATEGY
from app.services.checkpoints import DEFAULT_CHECKPOINT_EVERY

EXAMPLE_SPEC: dict[str, Any] = {
    "name": "digits-random",
    "objective": "mlp",
    "dataset": "digits",
    "metric": "dev_accuracy",
    "direction": "maximize",
    "space": {
        "learning_rate": {"type": "float", "low": 0.0001, "high": 0.1, "scale": "log"},
        "hidden_units": {"type": "int", "low": 16, "high": 256, "scale": "log"},
        "n_layers": {"type": "int", "low": 1, "high": 3},
        "optimizer": "adam",
        "epochs": 15,
        "batch_size": 64,
    },
    "strategy": {"kind": "random"},
    "budget": {"max_trials": 12, "max_parallel": 4},
    "seed": 7,
}


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_trials: int = Field(ge=1, description="Trials the search may create in all.")
    max_parallel: int = Field(default=4, ge=1, description="Trials queued or running at once.")
    max_failed_trials: int = Field(
        default=10, ge=1, description="Failed trials that end the search as `failed`, with the first error."
    )


class SearchSpec(BaseModel):
    """A search: which objective on which dataset, over which space, chosen how, for how many trials."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_SPEC]})

    name: str | None = Field(default=None, max_length=200)
    objective: str = Field(
        default="mlp",
        min_length=1,
        max_length=100,
        description="A registered objective, or `external`: trials evaluated by clients (ask/tell).",
    )
    dataset: str | dict[str, Any] | None = Field(
        default=None,
        description="A built-in dataset name, an uploaded dataset's name or id, or {name, ...options}; "
        "required by objectives that train on one (`mlp`).",
    )
    metric: str = Field(default="dev_accuracy", min_length=1, max_length=100)
    direction: Literal["minimize", "maximize"] = "maximize"
    space: dict[str, Any] = Field(description="Parameter name -> distribution, or a bare value (fixed).")
    strategy: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_STRATEGY))
    pruner: dict[str, Any] | None = None
    budget: Budget
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1, description="Random if omitted; stored.")
    checkpoint_every: int = Field(
        default=DEFAULT_CHECKPOINT_EVERY,
        ge=0,
        le=10_000,
        description="Epochs between checkpoints of a running trial (0: none); a trial whose worker dies "
        "resumes from its last one. Objectives that do not checkpoint ignore it.",
    )
