"""Every hyperparameter of the built-in trainer is accepted in a spec and changes training."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.domain.catalog import MLP_PARAMETERS
from caviar import Dataset
from tests.integration.helpers import quick_spec
from workers.datasets.builtin import load_builtin
from workers.objectives.mlp import mlp

BASE: dict[str, Any] = {
    "epochs": 4,
    "hidden_units": 32,
    "n_layers": 2,
    "learning_rate": 0.01,
    "optimizer": "adam",
}

# One value per hyperparameter that differs from its default (or from BASE) in a way training must feel.
CHANGES: dict[str, Any] = {
    "n_layers": 1,
    "hidden_units": [48, 16],
    "activation": "tanh",
    "init": "xavier",
    "init_scale": 0.3,
    "normalize_inputs": False,
    "batch_size": 16,
    "optimizer": "rmsprop",
    "learning_rate": 0.002,
    "beta1": 0.5,
    "beta2": 0.9,
    "epsilon": 1e-1,
    "lr_decay": "inverse_time",
    "l2": 0.5,
    "keep_prob": 0.6,
    "batch_norm": True,
    "epochs": 2,
    "dev_fraction": 0.3,
    "test_fraction": 0.1,
    "dtype": "float64",
}
# Parameters that act only together with another one.
COMBINED: dict[str, tuple[dict[str, Any], Any]] = {
    "beta": ({"optimizer": "momentum"}, 0.5),
    "decay_rate": ({"lr_decay": "exponential"}, 0.5),
    "decay_steps": ({"lr_decay": "staircase", "decay_rate": 0.5}, 1),
    "bn_momentum": ({"batch_norm": True}, 0.1),
    "early_stopping_patience": ({"epochs": 30, "learning_rate": 0.05}, 1),
}


class FixedSeedTrial:
    trial_id = 1
    seed = 11

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def load_dataset(self) -> Dataset:
        return self.dataset

    def report(self, step: int, **metrics: float) -> None:
        pass

    def should_stop(self) -> bool:
        return False


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_builtin("digits", {})


def test_every_hyperparameter_is_covered_by_this_test() -> None:
    assert set(CHANGES) | set(COMBINED) | {"output"} == set(MLP_PARAMETERS)


def test_output_layer_choice_changes_training_on_a_binary_task() -> None:
    breast_cancer = load_builtin("breast_cancer", {})
    sigmoid = mlp({**BASE, "output": "auto"}, FixedSeedTrial(breast_cancer))
    softmax = mlp({**BASE, "output": "softmax"}, FixedSeedTrial(breast_cancer))
    assert sigmoid != softmax


@pytest.mark.parametrize("name", sorted(set(CHANGES) | set(COMBINED)))
def test_hyperparameter_changes_training(name: str, digits: Dataset) -> None:
    context, value = COMBINED.get(name, ({}, CHANGES.get(name)))
    base = {**BASE, **context}
    changed = {**base, name: value}
    before = mlp(base, FixedSeedTrial(digits))
    after = mlp(changed, FixedSeedTrial(digits))
    assert before != after, f"{name}={value!r} did not change the metrics"


def test_a_spec_tuning_every_hyperparameter_is_accepted(client: TestClient) -> None:
    space: dict[str, Any] = {
        "n_layers": {"type": "int", "low": 1, "high": 3},
        "hidden_units": {"type": "int", "low": 16, "high": 128, "scale": "log"},
        "activation": {"type": "categorical", "choices": ["relu", "tanh", "leaky_relu"]},
        "output": "auto",
        "init": {"type": "categorical", "choices": ["he", "xavier", "glorot"]},
        "init_scale": {"type": "float", "low": 0.5, "high": 2.0, "scale": "log"},
        "normalize_inputs": {"type": "categorical", "choices": [True, False]},
        "batch_size": {"type": "int", "low": 16, "high": 256, "scale": "log"},
        "optimizer": {"type": "categorical", "choices": ["gd", "momentum", "rmsprop", "adam"]},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"},
        "beta": {
            "type": "float",
            "low": 0.8,
            "high": 0.99,
            "scale": "log1m",
            "when": {"optimizer": ["momentum"]},
        },
        "beta1": {
            "type": "float",
            "low": 0.8,
            "high": 0.99,
            "scale": "log1m",
            "when": {"optimizer": ["adam"]},
        },
        "beta2": {
            "type": "float",
            "low": 0.9,
            "high": 0.9999,
            "scale": "log1m",
            "when": {"optimizer": ["rmsprop", "adam"]},
        },
        "epsilon": {"type": "float", "low": 1e-9, "high": 1e-6, "scale": "log"},
        "lr_decay": {
            "type": "categorical",
            "choices": ["none", "inverse_time", "exponential", "inverse_sqrt", "staircase"],
        },
        "decay_rate": {"type": "float", "low": 0.5, "high": 0.99},
        "decay_steps": {"type": "int", "low": 1, "high": 10},
        "l2": {"type": "float", "low": 1e-6, "high": 1e-1, "scale": "log"},
        "keep_prob": {"type": "float", "low": 0.5, "high": 1.0},
        "batch_norm": {"type": "categorical", "choices": [True, False]},
        "bn_momentum": {"type": "float", "low": 0.8, "high": 0.99, "when": {"batch_norm": [True]}},
        "epochs": 5,
        "early_stopping_patience": {"type": "int", "low": 0, "high": 3},
        "dev_fraction": 0.2,
        "test_fraction": 0.2,
        "dtype": "float32",
    }
    assert set(space) == set(MLP_PARAMETERS)
    response = client.post("/searches", json=quick_spec(space=space))
    assert response.status_code == 201, response.text
