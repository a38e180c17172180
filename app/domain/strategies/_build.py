"""Read the user's `strategy` object into a Strategy, naming the offending `strategy.<option>` on error."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from app.domain.space import SearchSpace
from app.domain.space._checks import check_keys, read_fraction, read_int
from app.domain.strategies._base import Direction, Strategy
from app.domain.strategies._grid import GridStrategy
from app.domain.strategies._panda import DEFAULT_MODELS, PandaStrategy
from app.domain.strategies._pbt import (
    DEFAULT_INTERVAL,
    DEFAULT_POPULATION,
    DEFAULT_QUANTILE,
    DEFAULT_RESAMPLE_PROBABILITY,
    PbtOptions,
    PopulationBasedTraining,
)
from app.domain.strategies._simple import RandomStrategy, SobolStrategy
from app.errors import InvalidSpec

_OPTIONS: dict[str, tuple[str, ...]] = {
    "bayes": ("n_initial",),
    "pbt": ("population", "interval", "quantile", "resample_probability"),
    "panda": ("models",),
    "random": (),
    "sobol": (),
    "grid": ("points_per_axis",),
    "coarse_to_fine": (
        "rounds",
        "trials_per_round",
        "top_fraction",
        "top_k",
        "margin",
        "advance_when",
        "sampler",
    ),
}
DEFAULT_STRATEGY: Mapping[str, Any] = MappingProxyType({"kind": "coarse_to_fine"})
"""The `strategy` of a spec that gives none: coarse-to-fine with the model sampler, the best on
`bench/search_quality.py` (docs/benchmarks.md). Read-only: copy it with `dict(...)`."""
DEFAULT_POINTS_PER_AXIS = 5
# More points on one axis than the largest budget could ever visit only costs the API time to build.
MAX_POINTS_PER_AXIS = 10_000
DEFAULT_TRIALS_PER_ROUND = 10
"""With neither `rounds` nor `trials_per_round` given, rounds of 10 until the budget is spent: many small
rounds zoom in sooner than a few large ones (see docs/benchmarks.md)."""
DEFAULT_TOP_FRACTION = 0.3
DEFAULT_MARGIN = 0.1
DEFAULT_ADVANCE_WHEN = {"model": 0.3, "model+tpe": 0.3, "sobol": 1.0, "random": 1.0}
"""The classic zoom waits for a whole round; the model sampler only for enough results to judge it, since
the model already accounts for the trials still running and waiting would leave workers idle."""
DEFAULT_SAMPLER = "model"
SAMPLERS = ("model", "model+tpe", "sobol", "random")


def build_strategy(
    raw: Mapping[str, Any], space: SearchSpace, *, seed: int, direction: Direction, max_trials: int
) -> Strategy:
    """The strategy a spec asks for, with defaults filled in (see `Strategy.to_spec`)."""
    if not isinstance(raw, Mapping):
        raise InvalidSpec(
            "strategy", f'`strategy` must be an object such as {{"kind": "random"}}, got {raw!r}'
        )
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _OPTIONS:
        raise InvalidSpec("strategy.kind", f"`kind` must be one of {', '.join(_OPTIONS)}, got {kind!r}")
    if direction not in ("minimize", "maximize"):
        raise InvalidSpec("direction", f"`direction` must be minimize or maximize, got {direction!r}")
    check_keys(raw, ("kind", "initial_configs", *_OPTIONS[kind]), "strategy", f"strategy kind {kind!r}")
    common: dict[str, Any] = {
        "seed": seed,
        "direction": direction,
        "max_trials": max_trials,
        "initial_configs": _initial_configs(raw.get("initial_configs", []), space, max_trials),
    }
    if kind == "random":
        return RandomStrategy(space, **common)
    if kind == "sobol":
        return SobolStrategy(space, **common)
    # The model-based strategies bring SciPy's optimizer and linear algebra (~20 MB resident): imported by
    # the first search that uses one, so an idle worker (or an API serving random searches) goes without.
    if kind == "bayes":
        from app.domain.strategies._bayes import BayesStrategy

        n_initial = read_int(raw, "n_initial", "strategy", None, minimum=1) if "n_initial" in raw else None
        return BayesStrategy(space, n_initial=n_initial, **common)
    if kind == "pbt":
        return _population_based_training(raw, space, common)
    if kind == "panda":
        models = read_int(raw, "models", "strategy", DEFAULT_MODELS, minimum=1)
        if models > common["max_trials"]:
            raise InvalidSpec(
                "strategy.models",
                f"`models <= budget.max_trials` must hold (branches of the models are outside the budget), "
                f"got {models} > {common['max_trials']}",
            )
        return PandaStrategy(space, models=models, **common)
    if kind == "grid":
        points = read_int(
            raw,
            "points_per_axis",
            "strategy",
            DEFAULT_POINTS_PER_AXIS,
            minimum=1,
            maximum=MAX_POINTS_PER_AXIS,
        )
        return GridStrategy(space, points_per_axis=points, **common)
    from app.domain.strategies._coarse_to_fine import CoarseToFineStrategy

    return CoarseToFineStrategy(space, **_coarse_to_fine_options(raw, max_trials), **common)


def _population_based_training(
    raw: Mapping[str, Any], space: SearchSpace, common: dict[str, Any]
) -> PopulationBasedTraining:
    max_trials = common["max_trials"]
    population = read_int(raw, "population", "strategy", min(DEFAULT_POPULATION, max_trials), minimum=2)
    if population > max_trials:
        raise InvalidSpec(
            "strategy.population",
            f"`population <= budget.max_trials` must hold (the budget counts the population and the "
            f"branches that replace its members), got {population} > {max_trials}",
        )
    options = PbtOptions(
        population=population,
        interval=read_int(raw, "interval", "strategy", DEFAULT_INTERVAL, minimum=1),
        quantile=read_fraction(raw, "quantile", "strategy", DEFAULT_QUANTILE, allow_zero=False, upper=0.5),
        resample_probability=read_fraction(
            raw, "resample_probability", "strategy", DEFAULT_RESAMPLE_PROBABILITY, allow_zero=True
        ),
    )
    return PopulationBasedTraining(space, options=options, **common)


def _initial_configs(raw: Any, space: SearchSpace, max_trials: int) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise InvalidSpec("strategy.initial_configs", f"must be a list of parameter objects, got {raw!r}")
    if len(raw) > max_trials:
        raise InvalidSpec(
            "strategy.initial_configs",
            f"`len(initial_configs) <= budget.max_trials` must hold, got {len(raw)} > {max_trials}",
        )
    return [space.validate_params(config, f"strategy.initial_configs[{i}]") for i, config in enumerate(raw)]


def _coarse_to_fine_options(raw: Mapping[str, Any], max_trials: int) -> dict[str, Any]:
    if "rounds" in raw:
        rounds = read_int(raw, "rounds", "strategy", None, minimum=1)
        per_round = read_int(raw, "trials_per_round", "strategy", math.ceil(max_trials / rounds), minimum=1)
    else:
        per_round = read_int(raw, "trials_per_round", "strategy", DEFAULT_TRIALS_PER_ROUND, minimum=1)
        rounds = max(1, math.ceil(max_trials / per_round))
    if "top_fraction" in raw and "top_k" in raw:
        raise InvalidSpec("strategy.top_k", "give either `top_fraction` or `top_k`, not both")
    top_k = read_int(raw, "top_k", "strategy", None, minimum=1) if "top_k" in raw else None
    top_fraction = (
        None
        if top_k is not None
        else read_fraction(raw, "top_fraction", "strategy", DEFAULT_TOP_FRACTION, allow_zero=False)
    )
    sampler = raw.get("sampler", DEFAULT_SAMPLER)
    if sampler not in SAMPLERS:
        raise InvalidSpec(
            "strategy.sampler", f"`sampler` must be one of {', '.join(SAMPLERS)}, got {sampler!r}"
        )
    return {
        "rounds": rounds,
        "trials_per_round": per_round,
        "top_fraction": top_fraction,
        "top_k": top_k,
        "margin": read_fraction(raw, "margin", "strategy", DEFAULT_MARGIN, allow_zero=True),
        "advance_when": read_fraction(
            raw, "advance_when", "strategy", DEFAULT_ADVANCE_WHEN[sampler], allow_zero=False
        ),
        "sampler": sampler,
    }
