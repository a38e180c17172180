"""A zero-cost objective for smoke tests and throughput benchmarks: the platform's overhead, alone.

loss = Σ (x − 0.5)² over the numeric parameters; booleans and strings are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.catalog.objectives import validate_quadratic_params
from caviar import Trial


def quadratic(params: Mapping[str, Any], trial: Trial) -> dict[str, float]:
    validate_quadratic_params(params)
    loss = sum(
        (float(value) - 0.5) ** 2
        for value in params.values()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )
    trial.report(1, loss=loss)
    return {"loss": loss}
