"""The problems of bench/search_quality.py: YAHPO Gym's LCBench surrogate, our synthetic suite, the MLP.

An objective takes (params, trial seed) and returns (observed, noise_free): strategies see `observed`;
the tables report the noise-free value of the trial with the best observed value (the configuration a
user would deploy, valued without the luck of its one measurement). For noise-free problems the two
coincide.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bench import lcbench, synthetic_suite

Evaluation = tuple[float, float]
Objective = Callable[[Mapping[str, Any], int], Evaluation]
Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Problem:
    name: str
    what: str
    space: dict[str, Any]
    objective: Objective
    direction: Direction
    group: str
    """"lcbench", "synthetic" or "mlp": which part of the suite."""


@dataclass(frozen=True)
class Suite:
    """Which problems to build; picklable, so worker processes rebuild the same problems by name."""

    tasks: tuple[str, ...] = lcbench.DEFAULT_TASKS
    yahpo_data: Path | None = None
    synthetic: bool = True
    mlp_epochs: int | None = None


def _lcbench_problem(task: str, folder: Path | None) -> Problem:
    surrogate = lcbench.LCBenchSurrogate(task, folder)

    def objective(params: Mapping[str, Any], seed: int) -> Evaluation:
        value = surrogate.val_accuracy(params)
        return value, value

    return Problem(
        f"lcbench-{task}",
        f"YAHPO Gym LCBench surrogate, OpenML task {task}, val_accuracy (%) at epoch 52",
        lcbench.LCBENCH_SPACE,
        objective,
        "maximize",
        "lcbench",
    )


@cache
def problems(suite: Suite) -> tuple[Problem, ...]:
    chosen: list[Problem] = []
    if suite.tasks and lcbench.available(suite.yahpo_data):
        chosen += [_lcbench_problem(task, suite.yahpo_data) for task in suite.tasks]
    if suite.synthetic:
        chosen += [
            Problem(
                name, what, space, _noise_free(function) if noise is None else noise, direction, "synthetic"
            )
            for name, what, space, function, direction, noise in synthetic_suite.PROBLEMS
        ]
    if suite.mlp_epochs:
        chosen.append(_mlp_problem(suite.mlp_epochs))
    return tuple(chosen)


def problem_named(suite: Suite, name: str) -> Problem:
    return next(problem for problem in problems(suite) if problem.name == name)


def _noise_free(function: Callable[[Mapping[str, Any]], float]) -> Objective:
    def objective(params: Mapping[str, Any], seed: int) -> Evaluation:
        value = function(params)
        return value, value

    return objective


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


def _mlp_problem(epochs: int) -> Problem:
    def objective(params: Mapping[str, Any], seed: int) -> Evaluation:
        from caviar import TrialDiverged
        from workers.objectives.mlp import mlp

        fixed = {"epochs": epochs, "n_layers": 1, "optimizer": "adam", "batch_size": 64}
        try:
            cost = float(mlp({**params, **fixed}, _Context(seed))["dev_cost"])
        except TrialDiverged:
            cost = DIVERGED_COST
        # The training seed is the trial's: seed noise is real here, so observed is the true value.
        cost = min(cost, DIVERGED_COST) if np.isfinite(cost) else DIVERGED_COST
        return cost, cost

    return Problem(
        "mlp-digits",
        f"our NumPy MLP's dev cost on digits, {epochs} epochs",
        MLP_SPACE,
        objective,
        "minimize",
        "mlp",
    )
