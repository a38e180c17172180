"""The training loop: split, standardise, mini-batch epochs, evaluation, early stopping, divergence."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.domain.catalog.mlp_config import TrainConfig
from caviar import Dataset, InvalidParams, TrialDiverged
from workers.nn.data import EpochShuffler, Split, Standardizer, batch_bounds, stratified_split
from workers.nn.init import initialize
from workers.nn.losses import evaluate_logits, targets
from workers.nn.metrics import accuracy, binary_auc, positive_scores
from workers.nn.network import EVAL_CHUNK_ROWS, Network
from workers.nn.optimizers import OptimizerState, Step, make_step
from workers.nn.params import layout_for
from workers.nn.schedules import learning_rate_at
from workers.nn.workspace import workspace_bytes

MAX_TRAINING_BYTES = 2**30
PARAMETER_COPIES = 7
"""Parameter-sized buffers: params, gradients, two moments, optimizer scratch, L2 scratch, best snapshot."""


@dataclass(frozen=True)
class EpochMetrics:
    """One learning-curve point. train_cost is the training objective (cross-entropy + L2) averaged over the
    epoch's mini-batches; dev_* are measured in evaluation mode; dev_auc only for two classes."""

    epoch: int
    train_cost: float
    dev_cost: float
    dev_accuracy: float
    dev_auc: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The metrics as a report: train_cost, dev_cost, dev_accuracy and, when defined, dev_auc."""
        metrics = {
            "train_cost": self.train_cost,
            "dev_cost": self.dev_cost,
            "dev_accuracy": self.dev_accuracy,
        }
        if self.dev_auc is not None:
            metrics["dev_auc"] = self.dev_auc
        return metrics


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


def output_units(config: TrainConfig, n_classes: int) -> tuple[str, int]:
    """The output layer: ("sigmoid", 1) for two classes unless softmax is asked, else ("softmax", C)."""
    if n_classes < 2:
        raise InvalidParams("dataset", f"needs at least 2 classes, got {n_classes}")
    output = config.output
    if output == "auto":
        output = "sigmoid" if n_classes == 2 else "softmax"
    if output == "sigmoid":
        if n_classes != 2:
            raise InvalidParams("output", f"sigmoid needs a binary dataset, this one has {n_classes} classes")
        return "sigmoid", 1
    return "softmax", n_classes


def build_network(config: TrainConfig, n_features: int, n_classes: int, rng: np.random.Generator) -> Network:
    """An initialised network for this config, n_features inputs and n_classes classes."""
    output, n_outputs = output_units(config, n_classes)
    layout = layout_for(n_features, config.units, n_outputs, config.batch_norm)
    network = Network(
        layout,
        activation=config.activation,
        output=output,
        keep_probs=config.keep_probs,
        l2=config.l2,
        bn_momentum=config.bn_momentum,
        dtype=np.dtype(config.dtype),
    )
    initialize(network.layers, config.init, config.init_scale, rng)
    return network


def optimizer_step(config: TrainConfig, network: Network) -> Step:
    """The configured optimizer's step `(params, grads, lr)`, with fresh moments for `network`."""
    state = OptimizerState.zeros(network.params.size, network.dtype)
    return make_step(config.optimizer, state, config.beta, config.beta1, config.beta2, config.epsilon)


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
    """Train on `dataset`; the final metrics are dev_accuracy, dev_cost, train_cost, test_accuracy (when
    test_fraction > 0), epochs (run), best_epoch and, for two classes, dev_auc.

    `on_epoch` sees every epoch's metrics and may raise to stop training (e.g. `TrialPruned`). With early
    stopping on, training stops after `patience` epochs without a better dev accuracy (ties broken by a lower
    dev cost) and the final metrics are those of the best epoch, whose weights are restored. Raises
    `TrialDiverged` when the cost or a parameter stops being finite.
    """
    split_rng, init_rng, shuffle_rng, dropout_rng = rng.spawn(4)
    dtype = np.dtype(config.dtype)
    split = stratified_split(dataset.y, config.dev_fraction, config.test_fraction, split_rng)
    X_train_raw = dataset.X[split.train]
    standardizer = (
        Standardizer.fit(X_train_raw)
        if config.normalize_inputs
        else Standardizer.identity(dataset.X.shape[1])
    )
    X_train = standardizer.transform(X_train_raw, dtype)
    X_dev, y_dev = standardizer.transform(dataset.X[split.dev], dtype), dataset.y[split.dev]
    _check_memory(config, dataset.X.shape[1], dataset.n_classes, X_train.shape[0])
    network = build_network(config, dataset.X.shape[1], dataset.n_classes, init_rng)
    step = optimizer_step(config, network)
    n_outputs = network.layout.sizes[-1]
    shuffler = EpochShuffler(X_train, targets(dataset.y[split.train], n_outputs, dtype))
    bounds = batch_bounds(X_train.shape[0], config.batch_size)

    history: list[EpochMetrics] = []
    best: EpochMetrics | None = None
    best_weights = network.snapshot()
    for epoch in range(config.epochs):
        lr = learning_rate_at(
            config.lr_decay, config.learning_rate, epoch, config.decay_rate, config.decay_steps
        )
        permutation = shuffle_rng.permutation(X_train.shape[0])
        with np.errstate(all="ignore"):
            train_cost = run_epoch(network, step, shuffler, bounds, permutation, lr, dropout_rng)
            _check_finite(network, train_cost, epoch + 1)
            dev_cost, dev_accuracy, dev_auc = evaluate(network, X_dev, y_dev)
        if not math.isfinite(dev_cost):
            raise TrialDiverged(f"dev cost is {dev_cost} after epoch {epoch + 1}")
        record = EpochMetrics(epoch + 1, train_cost, dev_cost, dev_accuracy, dev_auc)
        history.append(record)
        if best is None or _improves(record, best):
            best = record
            if config.patience:
                best_weights = network.snapshot()
        if on_epoch is not None:
            on_epoch(record)
        if config.patience and record.epoch - best.epoch >= config.patience:
            break
    assert best is not None
    final = history[-1]
    if config.patience:
        network.restore(best_weights)
        final = best
    metrics = {**final.as_dict(), "epochs": float(len(history)), "best_epoch": float(best.epoch)}
    if split.test.size:
        with np.errstate(all="ignore"):
            X_test = standardizer.transform(dataset.X[split.test], dtype)
            metrics["test_accuracy"] = evaluate(network, X_test, dataset.y[split.test])[1]
    return TrainResult(metrics, history, network, split, standardizer)


def _check_memory(config: TrainConfig, n_features: int, n_classes: int, m_train: int) -> None:
    """Refuse a configuration whose buffers would exceed MAX_TRAINING_BYTES, before allocating any."""
    layout = layout_for(n_features, config.units, output_units(config, n_classes)[1], config.batch_norm)
    itemsize = np.dtype(config.dtype).itemsize
    batch = min(config.batch_size, m_train) + 1
    needed = PARAMETER_COPIES * layout.size * itemsize
    needed += workspace_bytes(layout, config.keep_probs, batch, itemsize)
    needed += workspace_bytes(layout, (1.0,) * config.n_layers, min(EVAL_CHUNK_ROWS, m_train), itemsize)
    if needed > MAX_TRAINING_BYTES:
        raise InvalidParams(
            "hidden_units",
            f"this network needs about {needed / 2**30:.1f} GiB, the limit is "
            f"{MAX_TRAINING_BYTES / 2**30:.0f} GiB; use fewer or narrower layers or a smaller batch_size",
        )


def _improves(record: EpochMetrics, best: EpochMetrics) -> bool:
    if record.dev_accuracy != best.dev_accuracy:
        return record.dev_accuracy > best.dev_accuracy
    return record.dev_cost < best.dev_cost


def _check_finite(network: Network, train_cost: float, epoch: int) -> None:
    if not math.isfinite(train_cost):
        raise TrialDiverged(f"train cost is {train_cost} at epoch {epoch}")
    if not np.isfinite(network.params).all():
        raise TrialDiverged(f"a parameter is not finite after epoch {epoch}")
