"""A Caviar objective: gradient-boosted trees, grown in stages with a learning curve of dev accuracy.

Caviar calls `gradient_boosting(params, trial)`; `trial` (a `caviar.Trial`) gives the dataset
(`trial.load_dataset()`), a seed, `trial.report(step, **metrics)` and `trial.should_stop()`. Returning
early when `should_stop()` is true is all pruning needs: the worker records the trial as pruned (or hands
it back on shutdown). A parameter the objective does not accept raises `caviar.InvalidParams`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from caviar import InvalidParams, Trial

PARAMETERS = {"n_estimators", "learning_rate", "max_depth", "subsample", "min_samples_leaf", "report_every"}
DEV_FRACTION = 0.2

__all__ = ["gradient_boosting"]


def gradient_boosting(params: Mapping[str, Any], trial: Trial) -> dict[str, float]:
    """Fit `n_estimators` trees, `report_every` at a time (warm start); report dev accuracy after each."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise InvalidParams(unknown[0], f"gbc does not take it; it takes {sorted(PARAMETERS)}")
    n_estimators = int(params.get("n_estimators", 100))
    if n_estimators < 1:
        raise InvalidParams("n_estimators", f"must be at least 1, got {n_estimators}")
    report_every = int(params.get("report_every", max(1, n_estimators // 10)))
    dataset = trial.load_dataset()
    x_train, y_train, x_dev, y_dev = _split(dataset.X, dataset.y, seed=trial.seed)
    model = GradientBoostingClassifier(
        n_estimators=0,
        learning_rate=float(params.get("learning_rate", 0.1)),
        max_depth=int(params.get("max_depth", 3)),
        subsample=float(params.get("subsample", 1.0)),
        min_samples_leaf=int(params.get("min_samples_leaf", 1)),
        random_state=trial.seed % 2**32,
        warm_start=True,
    )
    dev_accuracy = 0.0
    while model.n_estimators < n_estimators:
        model.n_estimators = min(model.n_estimators + report_every, n_estimators)
        model.fit(x_train, y_train)
        dev_accuracy = float(np.mean(model.predict(x_dev) == y_dev))
        trial.report(model.n_estimators, dev_accuracy=dev_accuracy)
        if trial.should_stop():
            break
    train_accuracy = float(np.mean(model.predict(x_train) == y_train))
    return {"dev_accuracy": dev_accuracy, "train_accuracy": train_accuracy}


def _split(
    features: np.ndarray, labels: np.ndarray, *, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded shuffle, then the last DEV_FRACTION of the rows as the dev set."""
    order = np.random.default_rng(seed).permutation(len(labels))
    n_dev = max(1, int(round(len(labels) * DEV_FRACTION)))
    train, dev = order[:-n_dev], order[-n_dev:]
    return features[train], labels[train], features[dev], labels[dev]
