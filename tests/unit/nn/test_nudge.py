"""Nudging a training run between epochs: live hyperparameters change from the next epoch on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.domain.catalog.mlp_config import TrainConfig
from caviar import InvalidParams, TrialDiverged
from workers.datasets.builtin import load_builtin
from workers.nn.checkpoint import TrainingState, config_json
from workers.nn.train import Trainer

CONFIG = TrainConfig(
    hidden_units=16,
    optimizer="adam",
    learning_rate=0.01,
    lr_decay="inverse_time",
    decay_rate=0.5,
    keep_prob=1.0,
    batch_size=128,
    epochs=6,
    dtype="float64",
)
NUDGE = {"learning_rate": 0.002, "beta1": 0.5, "beta2": 0.99, "l2": 0.1, "keep_prob": 0.7, "decay_rate": 2.0}
K = 3


def trainer(config: TrainConfig = CONFIG) -> Trainer:
    return Trainer(config, load_builtin("breast_cancer", {}), np.random.default_rng(7))


def run_epochs(run: Trainer, n: int) -> None:
    for _ in range(n):
        run.run_one_epoch()


def test_nudge_returns_the_old_values_and_changes_the_config() -> None:
    run = trainer()

    old = run.nudge(NUDGE)

    assert old == {
        "learning_rate": 0.01,
        "beta1": 0.9,
        "beta2": 0.999,
        "l2": 0.0,
        "keep_prob": [1.0, 1.0],
        "decay_rate": 0.5,
    }
    assert run.config == replace(CONFIG, **NUDGE)


def test_a_run_nudged_at_epoch_k_equals_one_configured_that_way_from_epoch_k() -> None:
    nudged = trainer()
    run_epochs(nudged, K)
    # The state after k epochs, put into a run configured with the new values from the start.
    state = TrainingState.from_bytes(nudged.checkpoint())
    configured = trainer(replace(CONFIG, **NUDGE))
    configured.restore(replace(state, config=config_json(configured.config)).to_bytes())

    nudged.nudge(NUDGE)
    run_epochs(nudged, CONFIG.epochs - K)
    run_epochs(configured, CONFIG.epochs - K)

    assert nudged.history == configured.history
    np.testing.assert_array_equal(nudged.network.params, configured.network.params)


def test_a_nudge_changes_training_from_the_next_epoch_only() -> None:
    plain, nudged = trainer(), trainer()
    run_epochs(plain, K)
    run_epochs(nudged, K)

    nudged.nudge({"learning_rate": 0.1})
    run_epochs(plain, 1)
    run_epochs(nudged, 1)

    assert nudged.history[:K] == plain.history[:K]
    assert nudged.history[K].train_cost != plain.history[K].train_cost


def test_a_nudge_to_a_huge_learning_rate_diverges_at_the_next_epoch() -> None:
    run = trainer(replace(CONFIG, optimizer="gd", lr_decay="none", dtype="float32"))
    run_epochs(run, K)

    run.nudge({"learning_rate": 1e6})

    with pytest.raises(TrialDiverged, match=f"epoch {K + 1}"):
        run.run_one_epoch()


def test_a_nudge_before_the_checkpoint_survives_a_resume() -> None:
    uninterrupted = trainer()
    run_epochs(uninterrupted, K)
    uninterrupted.nudge(NUDGE)
    run_epochs(uninterrupted, 1)
    checkpoint = uninterrupted.checkpoint()
    run_epochs(uninterrupted, CONFIG.epochs - K - 1)

    resumed = trainer()  # built from the trial's original params, as a re-queued attempt is
    assert resumed.restore(checkpoint) == K + 1
    run_epochs(resumed, CONFIG.epochs - K - 1)

    assert resumed.config == uninterrupted.config
    assert resumed.history == uninterrupted.history
    np.testing.assert_array_equal(resumed.network.params, uninterrupted.network.params)


@pytest.mark.parametrize(
    ("controls", "field"),
    [
        ({"epochs": 10}, "epochs"),
        ({"beta": 0.5}, "beta"),  # momentum's, not Adam's
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"keep_prob": "high"}, "keep_prob"),
        ({"beta2": 1.0}, "beta2"),
    ],
)
def test_a_control_that_is_not_live_or_out_of_range_is_refused_and_changes_nothing(
    controls: dict[str, object], field: str
) -> None:
    run = trainer()

    with pytest.raises(InvalidParams) as raised:
        run.nudge(controls)

    assert raised.value.name == field
    assert run.config == CONFIG
