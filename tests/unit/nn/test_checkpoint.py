"""Checkpoints: a run restored after any epoch ends bit-identical to one never interrupted."""

from __future__ import annotations

import io
from dataclasses import asdict

import numpy as np
import pytest

from app.domain.catalog.mlp_config import TrainConfig
from caviar import Dataset
from workers.datasets.builtin import load_builtin
from workers.nn.checkpoint import CheckpointError, TrainingState
from workers.nn.train import Trainer, TrainResult, train

EPOCHS = 6
CONFIGS = {
    "adam+batchnorm+dropout+decay+l2": {
        "n_layers": 2,
        "hidden_units": [16, 8],
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_norm": True,
        "keep_prob": [0.8, 0.9],
        "lr_decay": "inverse_time",
        "decay_rate": 0.5,
        "l2": 0.1,
        "batch_size": 16,
    },
    "momentum+staircase": {
        "hidden_units": 8,
        "optimizer": "momentum",
        "learning_rate": 0.05,
        "lr_decay": "staircase",
        "decay_rate": 0.5,
        "decay_steps": 2,
    },
    "rmsprop+dropout+early-stopping": {
        "hidden_units": 16,
        "optimizer": "rmsprop",
        "learning_rate": 0.01,
        "keep_prob": 0.7,
        "early_stopping_patience": 2,
    },
    "adam+float64+binary": {"hidden_units": 8, "dtype": "float64", "batch_norm": True},
}


def _dataset(name: str) -> Dataset:
    return load_builtin("moons" if "binary" in name else "wine", {})


def _resumed_after(config: TrainConfig, dataset: Dataset, seed: int, k: int) -> TrainResult:
    """Train k epochs, checkpoint, and finish in a fresh trainer (another worker) from those bytes."""
    first = Trainer(config, dataset, np.random.default_rng(seed))
    for _ in range(k):
        if first.done():
            break
        first.run_one_epoch()
    data = first.checkpoint()
    second = Trainer(config, dataset, np.random.default_rng(seed))
    assert second.restore(data) == len(first.history)
    return second.run()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_resuming_after_every_epoch_gives_bit_identical_weights_and_metrics(name: str) -> None:
    config = TrainConfig(epochs=EPOCHS, **CONFIGS[name])
    dataset = _dataset(name)
    whole = train(config, dataset, np.random.default_rng(5))

    for k in range(1, EPOCHS + 1):
        resumed = _resumed_after(config, dataset, 5, k)

        assert np.array_equal(resumed.network.params, whole.network.params), f"after epoch {k}"
        assert np.array_equal(resumed.network.running, whole.network.running), f"after epoch {k}"
        assert resumed.metrics == whole.metrics, f"after epoch {k}"
        assert [asdict(m) for m in resumed.history] == [asdict(m) for m in whole.history]


def test_a_run_that_had_met_its_stopping_rule_stops_at_once_when_restored() -> None:
    config = TrainConfig(hidden_units=64, learning_rate=0.05, epochs=200, early_stopping_patience=3)
    dataset = load_builtin("iris", {})
    whole = train(config, dataset, np.random.default_rng(0))
    epochs_run = len(whole.history)

    resumed = _resumed_after(config, dataset, 0, epochs_run)

    assert len(resumed.history) == epochs_run
    assert resumed.metrics == whole.metrics
    assert np.array_equal(resumed.network.params, whole.network.params)


def test_a_checkpoint_of_other_hyperparameters_is_refused() -> None:
    dataset = load_builtin("iris", {})
    trainer = Trainer(TrainConfig(hidden_units=8, epochs=3), dataset, np.random.default_rng(0))
    trainer.run_one_epoch()

    # batch_size, not a live hyperparameter: a checkpoint's differing live ones are nudges it carries.
    other = Trainer(TrainConfig(hidden_units=8, epochs=3, batch_size=16), dataset, np.random.default_rng(0))

    with pytest.raises(CheckpointError, match="other hyperparameters"):
        other.restore(trainer.checkpoint())


def test_bytes_that_are_not_a_checkpoint_are_refused() -> None:
    with pytest.raises(CheckpointError):
        TrainingState.from_bytes(b"not an npz")


def test_a_checkpoint_holding_a_pickle_is_refused_without_running_it() -> None:
    buffer = io.BytesIO()  # np.savez stores an object array as a pickle
    np.savez(buffer, facts=np.array([{"format": 1}], dtype=object))

    with pytest.raises(CheckpointError):
        TrainingState.from_bytes(buffer.getvalue())
