"""The built-in `mlp` objective: train the NumPy MLP on the search's dataset and report its learning curve."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.domain.catalog.mlp_config import TrainConfig
from app.domain.catalog.mlp_params import validate_params
from caviar import CheckpointingTrial, Dataset, LiveTrial, StoppableTrial, Trial, TrialPruned
from workers.nn.checkpoint import CheckpointError
from workers.nn.train import EpochMetrics, Trainer

logger = logging.getLogger(__name__)


def mlp(params: Mapping[str, Any], trial: Trial) -> dict[str, float]:
    """Train an MLP with `params` on the trial's dataset, seeded by `trial.seed`.

    Reports train_cost, dev_cost, dev_accuracy (and dev_auc for two classes) after every epoch (1-based) and
    raises `TrialPruned` when `trial.should_stop()` says so after a report; raises `TrialDiverged` when the
    cost stops being finite. Returns dev_accuracy, dev_cost, train_cost, test_accuracy, epochs, best_epoch
    and, for two classes, dev_auc.

    A trial that keeps checkpoints (`CheckpointingTrial`) gets one after the epochs it asks for, and a later
    attempt continues from the last one exactly as if it had never been interrupted. A `LiveTrial` can be
    nudged between epochs (which hyperparameters, and how: app/domain/catalog/mlp_controls.py). A
    `StoppableTrial` asked to stop ends as early stopping ends a run: with the best epoch's metrics and
    weights.
    """
    config = validate_params(params)
    dataset = trial.load_dataset()
    stoppable = trial if isinstance(trial, StoppableTrial) else None

    def on_epoch(metrics: EpochMetrics) -> None:
        trial.report(metrics.epoch, **metrics.as_dict())
        if stoppable is not None and stoppable.stop_requested():
            logger.info("trial %s stopped after epoch %d", trial.trial_id, metrics.epoch)
            trainer.stop()
        elif trial.should_stop():
            logger.info("trial %s pruned after epoch %d", trial.trial_id, metrics.epoch)
            raise TrialPruned()

    trainer = _trainer(config, dataset, trial)
    if isinstance(trial, LiveTrial):
        trial.controls_with(trainer.nudge)
    if stoppable is not None and stoppable.stop_requested():
        trainer.stop()  # asked while paused: the restored run ends at once
    result = trainer.run(on_epoch)
    logger.debug("trial %s finished: %s", trial.trial_id, result.metrics)
    return result.metrics


def _trainer(config: TrainConfig, dataset: Dataset, trial: Trial) -> Trainer:
    """A trainer seeded by `trial.seed`, restored from the trial's last checkpoint if it left one this
    trainer can read, and checkpointing as the trial asks."""
    trainer = Trainer(config, dataset, np.random.default_rng(trial.seed))
    if not isinstance(trial, CheckpointingTrial):
        return trainer
    checkpoint = trial.resume_from()
    if checkpoint is not None:
        try:
            epochs_done = trainer.restore(checkpoint)
            logger.info("trial %s: resumed after epoch %d", trial.trial_id, epochs_done)
        except CheckpointError as error:
            # Written by another trainer version, say: training from scratch is slower, not wrong. A new
            # trainer, since a failed restore may have put back part of the state.
            logger.warning("trial %s: checkpoint unusable (%s), training from scratch", trial.trial_id, error)
            trainer = Trainer(config, dataset, np.random.default_rng(trial.seed))
    trial.checkpoint_with(trainer.checkpoint)
    return trainer
