"""Methods by name ("caviar <kind>", "optuna <sampler>") and the jobs the worker processes run."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from threadpoolctl import threadpool_limits

from app.domain.space import SearchSpace
from app.domain.strategies import DEFAULT_STRATEGY, build_strategy
from app.errors import InvalidSpec
from bench.lcbench import LCBENCH_SPACE
from bench.proposal_latency import proposal_latency
from bench.search_problems import Suite, problem_named
from bench.search_runners import OPTUNA_SAMPLERS, Run, run_caviar, run_optuna

DEFAULT_METHODS = (
    "caviar default",
    "caviar coarse_to_fine/model+tpe",
    "caviar bayes",
    "caviar coarse_to_fine/sobol",
    "caviar random",
    "optuna TPE",
    "optuna random",
    "optuna CMA-ES",
)
# Seconds per 100-trial search measured here, to start the slowest jobs first; unknown methods
# (a new model-based kind, GP) are assumed slow.
_COST = {"optuna TPE": 1.3, "optuna CMA-ES": 0.3, "optuna random": 0.2, "caviar random": 0.05}


def strategy_spec(method: str) -> Mapping[str, Any]:
    """The `strategy` object of a "caviar ..." method: `caviar default` is the one a spec without it gets;
    `caviar coarse_to_fine/sobol` is coarse_to_fine with `sampler: "sobol"` (the classic zoom)."""
    kind, _, sampler = method.removeprefix("caviar ").partition("/")
    if kind == "default":
        return dict(DEFAULT_STRATEGY)
    return {"kind": kind, "sampler": sampler} if sampler else {"kind": kind}


def check_methods(methods: Sequence[str]) -> list[str]:
    """The methods that can run, in order; the others are named on stderr with the reason."""
    usable = []
    space = SearchSpace.from_spec(LCBENCH_SPACE)
    for method in methods:
        owner, _, name = method.partition(" ")
        if owner == "caviar":
            try:
                build_strategy(strategy_spec(method), space, seed=0, direction="maximize", max_trials=10)
            except InvalidSpec as error:
                print(f"skipping {method!r}: {error.field}: {error.message}", file=sys.stderr)
                continue
        elif owner != "optuna" or name not in OPTUNA_SAMPLERS:
            known = ", ".join(f"'optuna {s}'" for s in OPTUNA_SAMPLERS)
            print(f"skipping {method!r}: methods are 'caviar <kind>' or one of {known}", file=sys.stderr)
            continue
        usable.append(method)
    return usable


@dataclass(frozen=True)
class Job:
    method: str
    problem: str
    seed: int
    mode: str
    parallel: int
    budget: int
    suite: Suite

    def expected_cost(self) -> float:
        return _COST.get(self.method, 0.2 if self.method.startswith("caviar") else 3.0) * self.budget / 100


@dataclass(frozen=True)
class Outcome:
    job: Job
    run: Run
    cpu_seconds: float


def run_job(job: Job) -> Outcome:
    """One search in a worker process (jobs name the problem: closures don't pickle)."""
    threadpool_limits(1)
    problem = problem_named(job.suite, job.problem)
    started = time.process_time()
    if job.method.startswith("caviar "):
        run = run_caviar(strategy_spec(job.method), problem, job.seed, job.parallel, job.budget)
    else:
        run = run_optuna(job.method.removeprefix("optuna "), problem, job.seed, job.parallel, job.budget)
    return Outcome(job, run, time.process_time() - started)


def latency_job(method: str, completed: int, running: int, steps: int) -> list[tuple[float, float]]:
    threadpool_limits(1)
    return proposal_latency(strategy_spec(method), completed=completed, running=running, steps=steps)
