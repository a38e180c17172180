"""The built-in `mlp` objective: train the NumPy MLP on the search's dataset and report its learning curve."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.domain.catalog.mlp_params import validate_params
from caviar import Trial, TrialPruned
from workers.nn.train import EpochMetrics, train

logger = logging.getLogger(__name__)


def mlp(params: Mapping[str, Any], trial: Trial) -> dict[str, float]:
    """Train an MLP with `params` on the trial's dataset, seeded by `trial.seed`.

    Reports train_cost, dev_cost, dev_accuracy (and dev_auc for two classes) after every epoch (1-based) and
    raises `TrialPruned` when `trial.should_stop()` says so after a report; raises `TrialDiverged` when the
    cost stops being finite. Returns dev_accuracy, dev_cost, train_cost, test_accuracy, epochs, best_epoch
    and, for two classes, dev_auc.
    """
    config = validate_params(params)
    dataset = trial.load_dataset()

    def on_epoch(metrics: EpochMetrics) -> None:
        trial.report(metrics.epoch, **metrics.as_dict())
        if trial.should_stop():
            logger.info("trial %s pruned after epoch %d", trial.trial_id, metrics.epoch)
            raise TrialPruned()

    result = train(config, dataset, np.random.default_rng(trial.seed), on_epoch)
    logger.debug("trial %s finished: %s", trial.trial_id, result.metrics)
    return result.metrics
