"""A zero-cost objective for smoke tests and throughput benchmarks: the platform's overhead, alone.

loss = Σ (x − 0.5)² over the numeric parameters; booleans and strings are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from workers.objectives.base import InvalidParams, TrialContext

QUADRATIC_METRICS = frozenset({"loss"})


def validate_params(params: Mapping[str, Any]) -> None:
    for name, value in params.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and not math.isfinite(value):
            raise InvalidParams(name, f"must be finite, got {value}")


def quadratic(params: Mapping[str, Any], trial: TrialContext) -> dict[str, float]:
    validate_params(params)
    loss = sum(
        (float(value) - 0.5) ** 2
        for value in params.values()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )
    trial.report(1, loss=loss)
    return {"loss": loss}
