"""The `mlp` objective against a test double of the `caviar.Trial` protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from app.domain.catalog.mlp_params import MLP_CURVE_METRICS, MLP_METRICS, MLP_PARAMETERS, validate_params
from caviar import Dataset, InvalidParams, TrialDiverged, TrialPruned
from workers.datasets.builtin import load_builtin
from workers.objectives.mlp import mlp

ISSUE_PARAMETERS = {
    "n_layers",
    "hidden_units",
    "activation",
    "output",
    "init",
    "init_scale",
    "normalize_inputs",
    "batch_size",
    "optimizer",
    "beta",
    "beta1",
    "beta2",
    "epsilon",
    "learning_rate",
    "lr_decay",
    "decay_rate",
    "decay_steps",
    "l2",
    "keep_prob",
    "batch_norm",
    "bn_momentum",
    "epochs",
    "early_stopping_patience",
    "dev_fraction",
    "test_fraction",
}


@dataclass
class RecordingTrial:
    """A `caviar.Trial` that serves a fixed dataset, records reports and stops after `stop_after` reports."""

    dataset: Dataset
    seed: int = 0
    trial_id: int = 1
    stop_after: int | None = None
    reports: list[tuple[int, dict[str, float]]] = field(default_factory=list)

    def load_dataset(self) -> Dataset:
        return self.dataset

    def report(self, step: int, **metrics: float) -> None:
        self.reports.append((step, metrics))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.reports) >= self.stop_after


def test_reports_every_epoch_from_one_with_the_learning_curve_metrics() -> None:
    trial = RecordingTrial(load_builtin("iris", {}))

    mlp({"epochs": 4, "hidden_units": 8}, trial)

    assert [step for step, _ in trial.reports] == [1, 2, 3, 4]
    assert set(trial.reports[0][1]) == {"train_cost", "dev_cost", "dev_accuracy"}


def test_binary_datasets_also_report_dev_auc() -> None:
    trial = RecordingTrial(load_builtin("breast_cancer", {}))

    metrics = mlp({"epochs": 2}, trial)

    assert "dev_auc" in trial.reports[0][1]
    assert "dev_auc" in metrics


def test_returns_the_final_metrics() -> None:
    trial = RecordingTrial(load_builtin("wine", {}))

    metrics = mlp({"epochs": 3, "hidden_units": 8}, trial)

    assert set(metrics) == {"dev_accuracy", "dev_cost", "train_cost", "test_accuracy", "epochs", "best_epoch"}
    assert set(metrics) <= MLP_METRICS
    assert set(trial.reports[0][1]) <= MLP_CURVE_METRICS
    assert metrics["epochs"] == 3
    assert all(isinstance(value, float) for value in metrics.values())


def test_stops_with_trial_pruned_when_the_trial_says_so() -> None:
    trial = RecordingTrial(load_builtin("iris", {}), stop_after=2)

    with pytest.raises(TrialPruned):
        mlp({"epochs": 10, "hidden_units": 8}, trial)

    assert [step for step, _ in trial.reports] == [1, 2]


def test_same_params_and_seed_give_the_same_metrics() -> None:
    params = {"epochs": 3, "hidden_units": 16, "keep_prob": 0.8, "batch_norm": True}
    dataset = load_builtin("wine", {})

    first = mlp(params, RecordingTrial(dataset, seed=42))
    second = mlp(params, RecordingTrial(dataset, seed=42))

    assert first == second


def test_divergence_raises_trial_diverged() -> None:
    with pytest.raises(TrialDiverged):
        mlp({"optimizer": "gd", "learning_rate": 1e6}, RecordingTrial(load_builtin("digits", {})))


def test_mlp_parameters_cover_every_hyperparameter_of_the_issue() -> None:
    assert ISSUE_PARAMETERS <= MLP_PARAMETERS


def test_unknown_parameter_is_refused_with_its_name() -> None:
    with pytest.raises(InvalidParams) as error:
        validate_params({"learning_rate": 0.01, "momentum": 0.9})

    assert error.value.name == "momentum"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hidden_units", 64.5),
        ("hidden_units", "64"),
        ("epochs", True),
        ("learning_rate", "0.01"),
        ("batch_norm", 1),
        ("activation", 3),
        ("keep_prob", [0.5, "x"]),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_its_name(name: str, value: Any) -> None:
    with pytest.raises(InvalidParams) as error:
        validate_params({name: value})

    assert error.value.name == name


def test_json_shaped_values_are_accepted() -> None:
    config = validate_params(
        {
            "hidden_units": 64.0,
            "n_layers": np.int64(2),
            "learning_rate": 1,
            "batch_norm": "true",
            "keep_prob": [0.5, 0.8],
            "early_stopping_patience": None,
        }
    )

    assert config.units == (64, 64)
    assert config.learning_rate == 1.0
    assert config.batch_norm is True
    assert config.keep_probs == (0.5, 0.8)
    assert config.patience == 0


def test_invalid_params_are_refused_before_the_dataset_is_loaded() -> None:
    class NoDataset(RecordingTrial):
        def load_dataset(self) -> Dataset:
            raise AssertionError("loaded the dataset for invalid params")

    with pytest.raises(InvalidParams):
        mlp({"optimizer": "lbfgs"}, NoDataset(load_builtin("iris", {})))
