"""What the API needs to know of built-in objectives to reject a bad spec before any trial runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ObjectiveInfo:
    name: str
    parameters: frozenset[str] | None  # None: any parameter name is accepted
    metrics: frozenset[str]
    validate_params: Callable[[Mapping[str, Any]], object]
    uses_dataset: bool = True


def builtin_objective_info(name: str) -> ObjectiveInfo | None:
    """Parameter and metric names of a built-in objective; None for plugin objectives (checked by workers)."""
    if name == "mlp":
        from workers.objectives import mlp

        return ObjectiveInfo("mlp", mlp.MLP_PARAMETERS, mlp.MLP_METRICS, mlp.validate_params)
    if name == "quadratic":
        from workers.objectives import quadratic

        return ObjectiveInfo(
            "quadratic", None, quadratic.QUADRATIC_METRICS, quadratic.validate_params, uses_dataset=False
        )
    return None
