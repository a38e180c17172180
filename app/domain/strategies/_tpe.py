"""A proposal over the whole space by Optuna's TPE, fitted to the search's trials so far.

Coarse-to-fine's model sampler spends some of each round on it (`GLOBAL_EVERY`): its GP zooms and
exploits well, but a trust region follows the first good basin it finds, and a GP sure of itself there
never looks elsewhere. TPE, which models where the good trials are rather than the metric, keeps
proposing in every basin that holds some of them (on LCBench task 167168, the 3- to 5-layer networks
the trust region never left its 1-layer corner for; on a noisy metric, the other optimizer). Optuna's
`TPESampler` with its defaults (multivariate, constant liar for the trials still running) is driven
through ask-tell from the stored trials, in unit space, so log, log1m and integer axes are sampled on
the scale the search uses; conditional parameters are suggested only where their condition holds.
Deterministic for a given history and seed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.domain.space import CategoricalParam, SearchSpace
from app.domain.strategies._base import Direction, TrialRecord
from app.domain.strategies._model import FINISHED_STATES_FOR_MODEL, PENDING_STATES, kept_rows
from app.domain.strategies._targets import model_targets

MAX_TPE_TRIALS = 100
"""TPE sees at most this many finished trials (the best half, then the most recent): Optuna copies every
trial it is given, about 0.2 ms each, and a proposal sits on the path of every trial."""


def tpe_point(
    space: SearchSpace, history: Sequence[TrialRecord], direction: Direction, seed: int
) -> np.ndarray:
    """TPE's next unit point (NaN on inactive axes), with `history`'s pending trials running."""
    import optuna  # ~0.3 s and ~25 MB: only a process that proposes for such a search pays it

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sizes = {
        name: len(param.choices)
        for name in space.names
        if isinstance(param := space.tunable(name), CategoricalParam)
    }
    distributions: dict[str, Any] = {
        name: optuna.distributions.CategoricalDistribution(tuple(range(sizes[name])))
        if name in sizes
        else optuna.distributions.FloatDistribution(0.0, 1.0)
        for name in space.names
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # Optuna 5's defaults, spelt out: multivariate, and trials still running count as bad (their
        # own guess at this; the GP's believer is the other half's).
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
        study = optuna.create_study(sampler=sampler, direction=direction)
        study.add_trials([_frozen(space, t, sizes, distributions) for t in _shown(history, direction)])
        trial = study.ask()
    point = np.full(len(space.names), np.nan)
    values: dict[str, Any] = space.fixed()
    for name in space.activation_order:
        if name not in distributions:
            continue  # a fixed parameter
        condition = space.condition(name)
        if condition is not None and not condition.holds(values):
            continue
        axis = space.names.index(name)
        if name in sizes:
            index = int(trial.suggest_categorical(name, tuple(range(sizes[name]))))
            point[axis] = (index + 0.5) / sizes[name]
        else:
            point[axis] = float(trial.suggest_float(name, 0.0, 1.0))
        values[name] = space.tunable(name).from_unit(point[axis])
    return point


def _shown(history: Sequence[TrialRecord], direction: str) -> list[TrialRecord]:
    """The trials TPE is given, in the history's order (its weights and ties depend on it)."""
    finished = [i for i, t in enumerate(history) if t.state in FINISHED_STATES_FOR_MODEL]
    keep = kept_rows(model_targets([history[i] for i in finished], direction), MAX_TPE_TRIALS)
    shown = {finished[i] for i in keep}
    return [t for i, t in enumerate(history) if i in shown or t.state in PENDING_STATES]


def _frozen(
    space: SearchSpace, record: TrialRecord, sizes: dict[str, int], distributions: dict[str, Any]
) -> Any:
    from optuna.trial import TrialState, create_trial

    unit = space.to_unit(record.params)
    params: dict[str, float | int] = {}
    for axis, name in enumerate(space.names):
        if math.isnan(unit[axis]):
            continue
        if name in sizes:
            params[name] = min(int(unit[axis] * sizes[name]), sizes[name] - 1)
        else:
            params[name] = float(unit[axis])
    used = {name: distributions[name] for name in params}
    if record.has_result:
        return create_trial(params=params, distributions=used, value=float(record.value or 0.0))
    # Running trials are the constant liar's; failed and pruned ones TPE leaves out, as Optuna does.
    state = TrialState.RUNNING if record.state in PENDING_STATES else TrialState.FAIL
    return create_trial(params=params, distributions=used, state=state)
