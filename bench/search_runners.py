"""One search on a simulated clock: Caviar's ask-tell as the service runs it, or an Optuna study.

`parallel` workers each run one trial at a time; a trial's duration is lognormal, drawn from (seed,
trial number) alone, so every method sees the same durations and completions interleave. With
`parallel=1` this is the sequential loop. Whenever a trial finishes, the search is topped up the way
`app.services.ask_tell.advance_search` does it: room = min(parallel - running, budget - created),
`propose(history, state, room)` with the running trials in `history` (state "running", value None),
so the first call asks for `parallel` proposals and later ones usually for 1 (more when a strategy
had left workers idle). Optuna is driven with `study.ask()` / `study.tell()`, so its running trials
are RUNNING while it samples (TPE's constant liar sees them).
"""

from __future__ import annotations

import heapq
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna

from app.domain.space import SearchSpace
from app.domain.strategies import TrialRecord, build_strategy
from bench.search_problems import Problem

OPTUNA_SAMPLERS = ("TPE", "random", "CMA-ES", "GP")


def trial_seed(seed: int, number: int) -> int:
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def duration(seed: int, number: int) -> float:
    """Simulated run time of trial `number`: lognormal, median 1, sigma 0.6 (the slowest of 8 ~2-3x)."""
    return float(np.random.default_rng([seed, number, 0xD0]).lognormal(0.0, 0.6))


@dataclass
class Run:
    """Per finished trial, in completion order: the value the method saw and the noise-free value."""

    observed: list[float] = field(default_factory=list)
    noise_free: list[float] = field(default_factory=list)
    search_seconds: float = 0.0
    """CPU time spent choosing trials (propose, or ask + suggest + tell), objective excluded: CPU, not
    wall, so that other processes on the machine don't count."""
    makespan: float = 0.0
    """Simulated time when the last trial finished: a strategy that leaves workers idle takes longer."""


class _Workers:
    """Trials in flight on the simulated clock."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._finishing: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self._finishing)

    def start(self, number: int, now: float) -> None:
        heapq.heappush(self._finishing, (now + duration(self.seed, number), number))

    def next_finished(self) -> tuple[float, int]:
        return heapq.heappop(self._finishing)


def run_caviar(raw: Mapping[str, Any], problem: Problem, seed: int, parallel: int, budget: int) -> Run:
    space = SearchSpace.from_spec(problem.space)
    strategy = build_strategy(raw, space, seed=seed, direction=problem.direction, max_trials=budget)
    history: list[TrialRecord] = []
    state: dict[str, Any] = {}
    workers, run = _Workers(seed), Run()

    def top_up(now: float) -> None:
        nonlocal state
        room = min(parallel - len(workers), budget - len(history))
        if room <= 0:
            return
        started = time.process_time()
        proposals, state = strategy.propose(history, state, room)
        run.search_seconds += time.process_time() - started
        for proposal in proposals:
            number = len(history)
            history.append(TrialRecord(number, proposal.params, "running", None, proposal.round))
            workers.start(number, now)

    top_up(0.0)
    while workers:
        now, number = workers.next_finished()
        observed, noise_free = problem.objective(history[number].params, trial_seed(seed, number))
        history[number] = replace(history[number], state="completed", value=observed)
        run.observed.append(observed)
        run.noise_free.append(noise_free)
        run.makespan = now
        top_up(now)
    return run


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """Optuna's samplers with their defaults (TPE in Optuna 5: multivariate, constant_liar=True)."""
    if name == "TPE":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "CMA-ES":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "GP":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"unknown Optuna sampler {name!r}; known: {', '.join(OPTUNA_SAMPLERS)}")


def suggest(trial: optuna.Trial, space: Mapping[str, Any]) -> dict[str, Any]:
    """The Optuna equivalent of one of our spaces: `when` as conditional suggest calls (conditions read
    parameters written before them), log1m as `1 - suggest_float("1-name", 1 - high, 1 - low, log=True)`,
    the same distribution."""
    params: dict[str, Any] = {}
    for name, entry in space.items():
        if not isinstance(entry, Mapping):
            params[name] = entry
            continue
        when = entry.get("when", {})
        if any(params.get(ref) not in allowed for ref, allowed in when.items()):
            continue
        kind, scale = entry["type"], entry.get("scale", "linear")
        if kind == "categorical":
            params[name] = trial.suggest_categorical(name, entry["choices"])
        elif kind == "int":
            params[name] = trial.suggest_int(name, entry["low"], entry["high"], log=scale == "log")
        elif scale == "log1m":
            params[name] = 1 - trial.suggest_float(f"1-{name}", 1 - entry["high"], 1 - entry["low"], log=True)
        else:
            params[name] = trial.suggest_float(name, entry["low"], entry["high"], log=scale == "log")
    return params


def run_optuna(sampler: str, problem: Problem, seed: int, parallel: int, budget: int) -> Run:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*independent sampl.*")
    study = optuna.create_study(sampler=make_sampler(sampler, seed), direction=problem.direction)
    in_flight: dict[int, tuple[optuna.Trial, dict[str, Any]]] = {}
    workers, run = _Workers(seed), Run()

    def top_up(now: float) -> None:
        # A counter, not len(study.trials): that deep-copies every trial.
        while len(workers) < parallel and len(run.observed) + len(in_flight) < budget:
            started = time.process_time()
            trial = study.ask()
            params = suggest(trial, problem.space)
            run.search_seconds += time.process_time() - started
            in_flight[trial.number] = (trial, params)
            workers.start(trial.number, now)

    top_up(0.0)
    while workers:
        now, number = workers.next_finished()
        trial, params = in_flight.pop(number)
        observed, noise_free = problem.objective(params, trial_seed(seed, number))
        started = time.process_time()
        study.tell(trial, observed)
        run.search_seconds += time.process_time() - started
        run.observed.append(observed)
        run.noise_free.append(noise_free)
        run.makespan = now
        top_up(now)
    return run
