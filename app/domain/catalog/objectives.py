"""What the API knows of the built-in objectives, to reject a bad spec before any trial runs.

Plugin objectives are not in this catalog: their workers advertise their names, and check their params.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.catalog import mlp_controls, mlp_params
from caviar import InvalidParams

BUILTIN_OBJECTIVES: tuple[str, ...] = ("mlp", "quadratic")

QUADRATIC_METRICS = frozenset({"loss"})


@dataclass(frozen=True)
class ObjectiveInfo:
    name: str
    parameters: frozenset[str] | None  # None: any parameter name is accepted
    metrics: frozenset[str]
    validate_params: Callable[[Mapping[str, Any]], object]
    uses_dataset: bool = True
    validate_controls: Callable[[Mapping[str, Any], Mapping[str, Any]], object] | None = None
    """`validate_controls(params, controls)` raises InvalidParams unless a running trial of `params` may be
    nudged with `controls`; None: no hyperparameter is live-adjustable."""

    def live_names(self, params: Mapping[str, Any]) -> list[str]:
        """The parameters of `params` a running trial of them may change: those it accepts a nudge of to
        their own value (none when the objective has no live controls)."""
        if self.validate_controls is None:
            return []
        names = []
        for name, value in params.items():
            try:
                self.validate_controls(params, {name: value})
            except InvalidParams:
                continue
            names.append(name)
        return names


def validate_quadratic_params(params: Mapping[str, Any]) -> None:
    """`quadratic` takes any parameter; a numeric one must be finite."""
    for name, value in params.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and not math.isfinite(value):
            raise InvalidParams(name, f"must be finite, got {value}")


_BUILTIN: dict[str, ObjectiveInfo] = {
    "mlp": ObjectiveInfo(
        "mlp",
        mlp_params.MLP_PARAMETERS,
        mlp_params.MLP_METRICS,
        mlp_params.validate_params,
        validate_controls=mlp_controls.validate_controls,
    ),
    "quadratic": ObjectiveInfo(
        "quadratic", None, QUADRATIC_METRICS, validate_quadratic_params, uses_dataset=False
    ),
}


def builtin_objective_info(name: str) -> ObjectiveInfo | None:
    """Parameter and metric names of a built-in objective; None for plugin objectives (checked by workers)."""
    return _BUILTIN.get(name)
