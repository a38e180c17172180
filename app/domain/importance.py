"""Which hyperparameters mattered: permutation importance of a random forest fitted to the results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.inspection import permutation_importance

from app.domain.space import SearchSpace
from app.domain.strategies import TrialRecord
from app.errors import Conflict

MIN_COMPLETED_TRIALS = 5
METHOD = "permutation importance of a random forest on unit-space params"
INACTIVE = -1.0
"""Stands in for the unit coordinate of an inactive conditional parameter: outside [0, 1], so a tree
can split "inactive" apart from every real value."""


def hyperparameter_importance(
    space: SearchSpace, history: Sequence[TrialRecord], *, seed: int
) -> dict[str, Any]:
    """Each tunable parameter's share of the metric's explained variation; shares sum to 1, largest first.

    A forest is fitted to (unit-space params -> final value) of the completed trials; a parameter's
    importance is how much the forest's R^2 drops when that column is shuffled (negative drops count 0).
    """
    completed = [trial for trial in history if trial.has_result]
    if len(completed) < MIN_COMPLETED_TRIALS:
        raise Conflict(
            f"need at least {MIN_COMPLETED_TRIALS} completed trials to estimate importance, "
            f"have {len(completed)}"
        )
    names = space.names
    if not names:
        return {"method": METHOD, "n_trials": len(completed), "importances": {}}
    features = np.array([space.to_unit(trial.params) for trial in completed]).reshape(
        len(completed), len(names)
    )
    features = np.where(np.isnan(features), INACTIVE, features)
    target = np.array([float(trial.value or 0.0) for trial in completed])
    if np.ptp(target) == 0.0:
        raw = np.zeros(len(names))
    else:
        forest = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=seed, n_jobs=1)
        forest.fit(features, target)
        result = permutation_importance(forest, features, target, n_repeats=10, random_state=seed, n_jobs=1)
        raw = np.clip(result.importances_mean, 0.0, None)
    total = float(raw.sum())
    shares = raw / total if total > 0 else raw
    ranked = sorted(zip(names, shares.tolist(), strict=True), key=lambda pair: (-pair[1], pair[0]))
    return {"method": METHOD, "n_trials": len(completed), "importances": dict(ranked)}
