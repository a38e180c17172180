"""The training loop: split, standardise, mini-batch epochs, evaluation, early stopping, divergence."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.domain.catalog.mlp_config import TrainConfig
from app.domain.catalog.mlp_controls import live_controls, nudged_config
from caviar import Dataset, InvalidParams, TrialDiverged
from workers.nn.build import build_network, check_memory, optimizer_for, optimizer_step, output_units
from workers.nn.checkpoint import CheckpointError, TrainingState, config_json, copy_exactly
from workers.nn.curve import EpochMetrics, history_array, history_records
from workers.nn.data import EpochShuffler, Split, Standardizer, batch_bounds, stratified_split
from workers.nn.losses import evaluate_logits, targets
from workers.nn.metrics import accuracy, binary_auc, positive_scores
from workers.nn.network import Network
from workers.nn.optimizers import Step, make_step
from workers.nn.schedules import learning_rate_at

__all__ = [
    "EpochCallback",
    "EpochMetrics",
    "TrainResult",
    "Trainer",
    "build_network",
    "evaluate",
    "optimizer_step",
    "output_units",
    "run_epoch",
    "train",
]


@dataclass
class TrainResult:
    """Final metrics (see `train`), the learning curve, the trained network, and the split and input
    standardisation it was trained with (row indices into the dataset)."""

    metrics: dict[str, float]
    history: list[EpochMetrics]
    network: Network
    split: Split
    standardizer: Standardizer


EpochCallback = Callable[[EpochMetrics], None]


def run_epoch(
    network: Network,
    step: Step,
    shuffler: EpochShuffler,
    bounds: list[tuple[int, int]],
    permutation: np.ndarray,
    lr: float,
    dropout_rng: np.random.Generator,
) -> float:
    """One pass over the training set in `permutation` order; returns the example-weighted mean batch cost."""
    X, T = shuffler.shuffle(permutation)
    params, grads = network.params, network.grads
    total = 0.0
    for start, stop in bounds:
        total += network.cost_and_gradients(X[start:stop], T[start:stop], dropout_rng) * (stop - start)
        step(params, grads, lr)
    return total / int(X.shape[0])


def evaluate(network: Network, X: np.ndarray, y: np.ndarray) -> tuple[float, float, float | None]:
    """(mean cross-entropy, accuracy, AUC or None) of the network in evaluation mode on X (m, n_x), y (m,)."""
    cost, P = evaluate_logits(network.logits(X), y, network.output)
    auc = binary_auc(y, positive_scores(P)) if P.shape[1] <= 2 else None
    return cost, accuracy(y, P), auc


def train(
    config: TrainConfig, dataset: Dataset, rng: np.random.Generator, on_epoch: EpochCallback | None = None
) -> TrainResult:
    """Train on `dataset` from scratch; see `Trainer.run` for the metrics and `on_epoch`."""
    return Trainer(config, dataset, rng).run(on_epoch)


class Trainer:
    """One training run, epoch by epoch. Between epochs its whole state can be saved (`checkpoint`) and put
    back into a trainer built with the same config, dataset and seed (`restore`): the run then continues
    bit-identically to one never interrupted."""

    def __init__(self, config: TrainConfig, dataset: Dataset, rng: np.random.Generator) -> None:
        split_rng, init_rng, self.shuffle_rng, self.dropout_rng = rng.spawn(4)
        dtype = np.dtype(config.dtype)
        self.config, self.dataset = config, dataset
        self.split = stratified_split(dataset.y, config.dev_fraction, config.test_fraction, split_rng)
        X_train_raw = dataset.X[self.split.train]
        self.standardizer = (
            Standardizer.fit(X_train_raw)
            if config.normalize_inputs
            else Standardizer.identity(dataset.X.shape[1])
        )
        X_train = self.standardizer.transform(X_train_raw, dtype)
        self.X_dev = self.standardizer.transform(dataset.X[self.split.dev], dtype)
        self.y_dev = dataset.y[self.split.dev]
        check_memory(config, dataset.X.shape[1], dataset.n_classes, X_train.shape[0])
        self.network = build_network(config, dataset.X.shape[1], dataset.n_classes, init_rng)
        self.optimizer, self.step = optimizer_for(config, self.network)
        n_outputs = self.network.layout.sizes[-1]
        self.shuffler = EpochShuffler(X_train, targets(dataset.y[self.split.train], n_outputs, dtype))
        self.bounds = batch_bounds(X_train.shape[0], config.batch_size)
        self.history: list[EpochMetrics] = []
        self.best: EpochMetrics | None = None
        self.best_weights = self.network.snapshot()
        self.stopped = False

    def run(self, on_epoch: EpochCallback | None = None) -> TrainResult:
        """Train until the last epoch or early stopping; the final metrics are dev_accuracy, dev_cost,
        train_cost, test_accuracy (when test_fraction > 0), epochs (run), best_epoch and, for two classes,
        dev_auc.

        `on_epoch` sees every epoch's metrics and may raise to stop training (e.g. `TrialPruned`). With early
        stopping on, training stops after `patience` epochs without a better dev accuracy (ties broken by a
        lower dev cost) and the final metrics are those of the best epoch, whose weights are restored. Raises
        `TrialDiverged` when the cost or a parameter stops being finite.
        """
        while not self.done():
            record = self.run_one_epoch()
            if on_epoch is not None:
                on_epoch(record)
        return self.result()

    def done(self) -> bool:
        """Whether the last epoch ran, `stop()` was called after one, or early stopping says to stop (checked
        before an epoch, so a restored run that had already met its stopping rule runs no further)."""
        config = self.config
        if len(self.history) >= config.epochs or (self.stopped and self.history):
            return True
        return bool(
            config.patience
            and self.best is not None
            and self.history[-1].epoch - self.best.epoch >= config.patience
        )

    def run_one_epoch(self) -> EpochMetrics:
        """Train one epoch, evaluate on dev, update the best epoch; returns the new learning-curve point."""
        config, network = self.config, self.network
        epoch = len(self.history)
        lr = learning_rate_at(
            config.lr_decay, config.learning_rate, epoch, config.decay_rate, config.decay_steps
        )
        permutation = self.shuffle_rng.permutation(self.shuffler.X.shape[0])
        with np.errstate(all="ignore"):
            train_cost = run_epoch(
                network, self.step, self.shuffler, self.bounds, permutation, lr, self.dropout_rng
            )
            _check_finite(network, train_cost, epoch + 1)
            dev_cost, dev_accuracy, dev_auc = evaluate(network, self.X_dev, self.y_dev)
        if not math.isfinite(dev_cost):
            raise TrialDiverged(f"dev cost is {dev_cost} after epoch {epoch + 1}")
        record = EpochMetrics(epoch + 1, train_cost, dev_cost, dev_accuracy, dev_auc)
        self.history.append(record)
        if self.best is None or _improves(record, self.best):
            self.best = record
            # Kept even without early stopping, for `stop()`: a copy of the parameters, next to an epoch.
            network.copy_into(self.best_weights)
        return record

    def stop(self) -> None:
        """End the run after the current epoch (or the first, if none ran yet) as early stopping would:
        `result()` then reports the best epoch, with its weights."""
        self.stopped = True

    def result(self) -> TrainResult:
        """The final metrics (see `run`) of the epochs run so far; with early stopping, or after `stop()`,
        those of the best epoch, whose weights are restored."""
        config, network, split = self.config, self.network, self.split
        assert self.best is not None
        final = self.history[-1]
        if config.patience or self.stopped:
            network.restore(self.best_weights)
            final = self.best
        metrics = {
            **final.as_dict(),
            "epochs": float(len(self.history)),
            "best_epoch": float(self.best.epoch),
        }
        if split.test.size:
            with np.errstate(all="ignore"):
                X_test = self.standardizer.transform(self.dataset.X[split.test], network.dtype)
                metrics["test_accuracy"] = evaluate(network, X_test, self.dataset.y[split.test])[1]
        return TrainResult(metrics, self.history, network, split, self.standardizer)

    def nudge(self, controls: Mapping[str, Any]) -> dict[str, Any]:
        """Change live hyperparameters (see app/domain/catalog/mlp_controls.py) from the next epoch on;
        returns their old values. Raises InvalidParams for a control that is not live or out of range.

        The run then continues exactly as one configured with the new values from this epoch would: the
        optimizer keeps its moments and step count, the learning rate is the schedule's new base."""
        config = nudged_config(self.config, controls)
        old = {name: _json_value(getattr(self.config, name)) for name in controls}
        self.config = config
        self.network.l2 = config.l2
        self.network.set_keep_probs(config.keep_probs)
        self.step = make_step(
            config.optimizer, self.optimizer, config.beta, config.beta1, config.beta2, config.epsilon
        )
        return old

    def checkpoint(self) -> bytes:
        """The state after the epochs run so far, as bytes for `restore` (see workers/nn/checkpoint.py)."""
        return TrainingState(
            config=config_json(self.config),
            epochs_done=len(self.history),
            best_epoch=0 if self.best is None else self.best.epoch,
            optimizer_steps=self.optimizer.step,
            rng_states={
                "shuffle": self.shuffle_rng.bit_generator.state,
                "dropout": self.dropout_rng.bit_generator.state,
            },
            params=self.network.params,
            running=self.network.running,
            first_moment=self.optimizer.first_moment,
            second_moment=self.optimizer.second_moment,
            best_params=self._kept_best()[0],
            best_running=self._kept_best()[1],
            history=history_array(self.history),
        ).to_bytes()

    def _kept_best(self) -> tuple[np.ndarray, np.ndarray]:
        """The best epoch's weights, for the checkpoint: empty arrays when the last epoch is the best, whose
        weights are the current ones (a quarter of a checkpoint's bytes saved while a run improves)."""
        if self.best is None or self.best.epoch == len(self.history):
            return np.empty(0, self.network.dtype), np.empty(0, self.network.dtype)
        return self.best_weights

    def restore(self, data: bytes) -> int:
        """Continue from a `checkpoint` of a run with the same config, dataset and seed; returns the epochs
        it had done. The live hyperparameters are the checkpoint's, so a run nudged before its checkpoint
        resumes nudged. Raises CheckpointError if the bytes are not such a checkpoint."""
        state = TrainingState.from_bytes(data)
        live, current = live_controls(self.config), config_json(self.config)
        if {k: v for k, v in state.config.items() if k not in live} != {
            k: v for k, v in current.items() if k not in live
        }:
            raise CheckpointError("the checkpoint was made with other hyperparameters")
        nudged = {name: state.config[name] for name in live if state.config.get(name) != current[name]}
        if nudged:
            try:
                self.nudge(nudged)
            except InvalidParams as error:
                raise CheckpointError(
                    f"the checkpoint's live hyperparameters are invalid: {error}"
                ) from error
        try:
            history = history_records(state.history)
        except ValueError as error:
            raise CheckpointError(str(error)) from error
        if len(history) != state.epochs_done or not 0 <= state.best_epoch <= len(history):
            raise CheckpointError("the checkpoint's learning curve does not match its epoch count")
        try:
            for target, saved in (
                (self.network.params, state.params),
                (self.network.running, state.running),
                (self.optimizer.first_moment, state.first_moment),
                (self.optimizer.second_moment, state.second_moment),
            ):
                copy_exactly(target, saved)
            if state.best_params.size or state.best_running.size:
                copy_exactly(self.best_weights[0], state.best_params)
                copy_exactly(self.best_weights[1], state.best_running)
            else:
                # The best epoch was the last one (or, in a checkpoint written before every run kept its best
                # weights, unknown): its weights are the current ones.
                self.network.copy_into(self.best_weights)
            self.shuffle_rng.bit_generator.state = dict(state.rng_states["shuffle"])
            self.dropout_rng.bit_generator.state = dict(state.rng_states["dropout"])
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"the checkpoint does not fit this run: {error}") from error
        self.optimizer.step = state.optimizer_steps
        self.history = history
        self.best = history[state.best_epoch - 1] if state.best_epoch else None
        return state.epochs_done


def _json_value(value: Any) -> Any:
    """A hyperparameter as JSON holds it (a per-layer tuple as a list)."""
    return list(value) if isinstance(value, tuple) else value


def _improves(record: EpochMetrics, best: EpochMetrics) -> bool:
    if record.dev_accuracy != best.dev_accuracy:
        return record.dev_accuracy > best.dev_accuracy
    return record.dev_cost < best.dev_cost


def _check_finite(network: Network, train_cost: float, epoch: int) -> None:
    if not math.isfinite(train_cost):
        raise TrialDiverged(f"train cost is {train_cost} at epoch {epoch}")
    if not np.isfinite(network.params).all():
        raise TrialDiverged(f"a parameter is not finite after epoch {epoch}")
