"""Objectives for bench/search_quality.py: cheap synthetic functions in log-scaled spaces, and the MLP.

Every objective takes (params, training seed) and returns a value to minimize. The synthetic optima sit
at interior points of the log coordinates, never at a corner or on a grid line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

Objective = Callable[[Mapping[str, Any], int], float]


@dataclass(frozen=True)
class Problem:
    name: str
    what: str
    space: dict[str, Any]
    objective: Objective
    budget: int


def _log_position(space: Mapping[str, Any], name: str, value: float) -> float:
    """`value` in [0, 1] along its scale: 0 at `low`, 1 at `high` (log10, or log10(1 - v) for log1m)."""
    entry = space[name]
    if entry.get("scale") == "log1m":
        low, high, v = math.log10(1 - entry["low"]), math.log10(1 - entry["high"]), math.log10(1 - value)
    else:
        low, high, v = math.log10(entry["low"]), math.log10(entry["high"]), math.log10(value)
    return (v - low) / (high - low)


QUADRATIC_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "scale": "log"},
    "beta1": {"type": "float", "low": 0.8, "high": 0.9999, "scale": "log1m"},
    "hidden_units": {"type": "int", "low": 8, "high": 1024, "scale": "log"},
    "l2": {"type": "float", "low": 1e-7, "high": 1e-1, "scale": "log"},
}
QUADRATIC_OPTIMUM = {"learning_rate": 10**-2.6, "beta1": 1 - 10**-2.4, "hidden_units": 181, "l2": 10**-4.3}
QUADRATIC_WEIGHTS = {"learning_rate": 4.0, "beta1": 1.0, "hidden_units": 0.5, "l2": 0.25}


def quadratic(params: Mapping[str, Any], seed: int) -> float:
    """A weighted bowl in log coordinates: some parameters matter far more than others."""
    total = 0.0
    for name, weight in QUADRATIC_WEIGHTS.items():
        gap = _log_position(QUADRATIC_SPACE, name, params[name])
        gap -= _log_position(QUADRATIC_SPACE, name, QUADRATIC_OPTIMUM[name])
        total += weight * gap**2
    return total


ROSENBROCK_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "scale": "log"},
    "beta1": {"type": "float", "low": 0.8, "high": 0.9999, "scale": "log1m"},
    "hidden_units": {"type": "int", "low": 8, "high": 1024, "scale": "log"},
    "optimizer": {"type": "categorical", "choices": ["momentum", "rmsprop", "adam"]},
}


def rosenbrock(params: Mapping[str, Any], seed: int) -> float:
    """log(1 + Rosenbrock) over (log10 lr, log10(1 - beta1)): plus a categorical an offset."""
    x = -2.0 + 4.0 * _log_position(ROSENBROCK_SPACE, "learning_rate", params["learning_rate"])
    y = -1.0 + 4.0 * _log_position(ROSENBROCK_SPACE, "beta1", params["beta1"])
    units = _log_position(ROSENBROCK_SPACE, "hidden_units", params["hidden_units"])
    offset = {"adam": 0.0, "rmsprop": 0.3, "momentum": 0.6}[params["optimizer"]]
    return math.log1p((1 - x) ** 2 + 100 * (y - x**2) ** 2) + offset + 0.2 * (units - 0.6) ** 2


MULTIMODAL_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "scale": "log"},
    "l2": {"type": "float", "low": 1e-7, "high": 1e-1, "scale": "log"},
    "keep_prob": {"type": "float", "low": 0.5, "high": 1.0},
}


def multimodal(params: Mapping[str, Any], seed: int) -> float:
    """A bowl with ripples (Rastrigin-like, 3 bumps per axis): zooming in too early can trap a search."""
    coordinates = [
        _log_position(MULTIMODAL_SPACE, "learning_rate", params["learning_rate"]) - 0.62,
        _log_position(MULTIMODAL_SPACE, "l2", params["l2"]) - 0.31,
        (params["keep_prob"] - 0.5) / 0.5 - 0.77,
    ]
    return sum(4 * c**2 + 0.3 * (1 - math.cos(6 * math.pi * c)) for c in coordinates)


MLP_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"},
    "beta1": {"type": "float", "low": 0.8, "high": 0.999, "scale": "log1m"},
    "beta2": {"type": "float", "low": 0.9, "high": 0.9999, "scale": "log1m"},
    "hidden_units": {"type": "int", "low": 16, "high": 256, "scale": "log"},
    "l2": {"type": "float", "low": 1e-6, "high": 1e-1, "scale": "log"},
    "keep_prob": {"type": "float", "low": 0.5, "high": 1.0},
}
DIVERGED_COST = math.log(10)
"""The dev cost of predicting all ten digits with equal probability: what a diverged run is worth."""


class _Context:
    """The smallest TrialContext: the digits dataset, reports dropped, never stopped."""

    def __init__(self, seed: int) -> None:
        self.trial_id = 0
        self.seed = seed

    def load_dataset(self) -> Any:
        return _digits()

    def report(self, step: int, **metrics: float) -> None:
        return None

    def should_stop(self) -> bool:
        return False


@cache
def _digits() -> Any:
    from workers.datasets.builtin import load_builtin

    return load_builtin("digits", {})


def mlp_objective(epochs: int) -> Objective:
    def objective(params: Mapping[str, Any], seed: int) -> float:
        from caviar import TrialDiverged
        from workers.objectives.mlp import mlp

        fixed = {"epochs": epochs, "n_layers": 1, "optimizer": "adam", "batch_size": 64}
        try:
            cost = mlp({**params, **fixed}, _Context(seed))["dev_cost"]
        except TrialDiverged:
            return DIVERGED_COST
        return min(float(cost), DIVERGED_COST) if np.isfinite(cost) else DIVERGED_COST

    return objective


def problems(quick: bool) -> list[Problem]:
    synthetic_budget = 30 if quick else 60
    return [
        Problem(
            "quadratic", "weighted bowl in log coordinates", QUADRATIC_SPACE, quadratic, synthetic_budget
        ),
        Problem(
            "rosenbrock",
            "log(1 + Rosenbrock) valley + categorical",
            ROSENBROCK_SPACE,
            rosenbrock,
            synthetic_budget,
        ),
        Problem("multimodal", "rippled bowl, 3 params", MULTIMODAL_SPACE, multimodal, synthetic_budget),
        Problem(
            "mlp-digits",
            f"MLP dev cost on digits, {4 if quick else 8} epochs",
            MLP_SPACE,
            mlp_objective(4 if quick else 8),
            20 if quick else 40,
        ),
    ]
