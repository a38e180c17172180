"""Which hyperparameters mattered: permutation importance of a random forest fitted to the results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from app.domain.space import SearchSpace
from app.domain.strategies import TrialRecord
from app.errors import Conflict

MIN_COMPLETED_TRIALS = 5
METHOD = "permutation importance of a random forest on unit-space params"
INACTIVE = -1.0
"""Stands in for the unit coordinate of an inactive conditional parameter: outside [0, 1], so a tree
can split "inactive" apart from every real value."""
TREES = 100
TREES_PER_BATCH = 10
REPEATS = 10
"""Shuffles of each column; their mean drop of R^2 is the column's importance."""


def never() -> bool:
    return False


def hyperparameter_importance(
    space: SearchSpace,
    history: Sequence[TrialRecord],
    *,
    seed: int,
    stop: Callable[[], bool] = never,
) -> dict[str, Any]:
    """Each tunable parameter's share of the metric's explained variation; shares sum to 1, largest first.

    A forest is fitted to (unit-space params -> final value) of the completed trials; a parameter's
    importance is how much the forest's R^2 drops when that column is shuffled (negative drops count 0).

    The work goes in batches, `stop()` asked before each: the forest grows TREES_PER_BATCH trees at a
    time, the shuffles go one column at a time. Once it says True the answer is made of the batches done
    so far (at least TREES_PER_BATCH trees and one shuffle of every column) with `complete: False`; an
    exception it raises abandons the fit at once. `n_trees` and `n_repeats` say what the answer stands on.
    """
    completed = [trial for trial in history if trial.has_result]
    if len(completed) < MIN_COMPLETED_TRIALS:
        raise Conflict(
            f"need at least {MIN_COMPLETED_TRIALS} completed trials to estimate importance, "
            f"have {len(completed)}"
        )
    names = space.names
    answer: dict[str, Any] = {"method": METHOD, "n_trials": len(completed), "n_trees": 0, "n_repeats": 0}
    if not names:
        return {**answer, "complete": True, "importances": {}}
    features = np.array([space.to_unit(trial.params) for trial in completed]).reshape(
        len(completed), len(names)
    )
    features = np.where(np.isnan(features), INACTIVE, features)
    target = np.array([float(trial.value or 0.0) for trial in completed])
    complete = True
    if np.ptp(target) == 0.0:
        raw = np.zeros(len(names))
    else:
        forest, grown = _grow_forest(features, target, seed=seed, stop=stop)
        drops, repeats = _permutation_drops(forest, features, target, seed=seed, stop=stop)
        raw = np.clip(drops, 0.0, None)
        complete = grown == TREES and repeats == REPEATS
        answer.update(n_trees=grown, n_repeats=repeats)
    total = float(raw.sum())
    shares = raw / total if total > 0 else raw
    ranked = sorted(zip(names, shares.tolist(), strict=True), key=lambda pair: (-pair[1], pair[0]))
    return {**answer, "complete": complete, "importances": dict(ranked)}


def _grow_forest(
    features: np.ndarray, target: np.ndarray, *, seed: int, stop: Callable[[], bool]
) -> tuple[RandomForestRegressor, int]:
    """The forest grown TREES_PER_BATCH trees at a time (warm_start keeps the trees grown so far)."""
    forest = RandomForestRegressor(
        n_estimators=0, min_samples_leaf=2, random_state=seed, n_jobs=1, warm_start=True
    )
    while forest.n_estimators < TREES:
        if stop() and forest.n_estimators:
            break
        forest.n_estimators += TREES_PER_BATCH
        forest.fit(features, target)
    return forest, forest.n_estimators


def _permutation_drops(
    forest: RandomForestRegressor,
    features: np.ndarray,
    target: np.ndarray,
    *,
    seed: int,
    stop: Callable[[], bool],
) -> tuple[np.ndarray, int]:
    """Mean drop of R^2 per column over the repeats done (1..REPEATS), and how many were done; a repeat
    cut short by `stop` is dropped, except the first (every column needs a value)."""
    rng = np.random.default_rng(seed)
    baseline = forest.score(features, target)
    shuffled = features.copy()
    totals = np.zeros(features.shape[1])
    for repeat in range(REPEATS):
        drops = np.zeros(features.shape[1])
        for column in range(features.shape[1]):
            if stop() and repeat:
                return totals / repeat, repeat
            shuffled[:, column] = rng.permutation(features[:, column])
            drops[column] = baseline - forest.score(shuffled, target)
            shuffled[:, column] = features[:, column]
        totals += drops
    return totals / REPEATS, REPEATS
