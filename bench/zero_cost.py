"""The zero-cost search the service benchmarks run: the built-in `quadratic` objective, Σ (x − 0.5)² over
three uniform floats, so that what is measured is the platform (queue, claims, results), not training."""

from __future__ import annotations

from typing import Any

PARAMS = ("x", "y", "z")


def zero_cost_spec(name: str, trials: int, max_parallel: int) -> dict[str, Any]:
    return {
        "name": name,
        "objective": "quadratic",
        "dataset": "digits",  # required by the spec, never loaded by the quadratic objective
        "metric": "loss",
        "direction": "minimize",
        "space": {param: {"type": "float", "low": 0.0, "high": 1.0} for param in PARAMS},
        "strategy": {"kind": "random"},
        "budget": {"max_trials": trials, "max_parallel": max_parallel},
        "seed": 1,
    }
