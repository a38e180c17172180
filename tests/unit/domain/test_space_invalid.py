"""Every wrong space is an InvalidSpec naming the field as the user wrote it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.domain.space import SearchSpace
from app.errors import InvalidSpec
from tests.unit.domain.helpers import ADAM_CONFIG, EXAMPLE_SPACE, example_space

NAN = float("nan")
INF = float("inf")

CASES: list[tuple[str, str, Any, str]] = [
    (
        "low above high",
        "learning_rate",
        {"type": "float", "low": 0.1, "high": 0.01},
        "space.learning_rate.low",
    ),
    (
        "log with low 0",
        "learning_rate",
        {"type": "float", "low": 0, "high": 1, "scale": "log"},
        "space.learning_rate.low",
    ),
    (
        "log with negative low",
        "units",
        {"type": "int", "low": -2, "high": 8, "scale": "log"},
        "space.units.low",
    ),
    ("int log with low 0", "units", {"type": "int", "low": 0, "high": 8, "scale": "log"}, "space.units.low"),
    (
        "log1m with high 1",
        "beta1",
        {"type": "float", "low": 0.8, "high": 1.0, "scale": "log1m"},
        "space.beta1.high",
    ),
    ("log1m on an int", "units", {"type": "int", "low": 1, "high": 8, "scale": "log1m"}, "space.units.scale"),
    ("unknown type", "learning_rate", {"type": "gaussian", "low": 0, "high": 1}, "space.learning_rate.type"),
    ("missing type", "learning_rate", {"low": 0, "high": 1}, "space.learning_rate.type"),
    (
        "unknown scale",
        "learning_rate",
        {"type": "float", "low": 0.1, "high": 1, "scale": "ln"},
        "space.learning_rate.scale",
    ),
    (
        "unknown attribute",
        "learning_rate",
        {"type": "float", "low": 0.1, "high": 1, "step": 0.1},
        "space.learning_rate.step",
    ),
    ("missing high", "learning_rate", {"type": "float", "low": 0.1}, "space.learning_rate.high"),
    ("NaN low", "learning_rate", {"type": "float", "low": NAN, "high": 1}, "space.learning_rate.low"),
    ("infinite high", "learning_rate", {"type": "float", "low": 0, "high": INF}, "space.learning_rate.high"),
    ("NaN fixed value", "dropout", NAN, "space.dropout"),
    ("infinite inside a fixed list", "sizes", [64, -INF], "space.sizes[1]"),
    ("bool as low", "learning_rate", {"type": "float", "low": True, "high": 2}, "space.learning_rate.low"),
    ("bool as int high", "n_layers", {"type": "int", "low": 1, "high": True}, "space.n_layers.high"),
    ("string as low", "learning_rate", {"type": "float", "low": "0.1", "high": 2}, "space.learning_rate.low"),
    ("fractional int bound", "n_layers", {"type": "int", "low": 1.5, "high": 4}, "space.n_layers.low"),
    ("empty choices", "optimizer", {"type": "categorical", "choices": []}, "space.optimizer.choices"),
    (
        "choices not a list",
        "optimizer",
        {"type": "categorical", "choices": "adam"},
        "space.optimizer.choices",
    ),
    (
        "repeated choice",
        "optimizer",
        {"type": "categorical", "choices": ["adam", "adam"]},
        "space.optimizer.choices[1]",
    ),
    (
        "NaN choice",
        "optimizer",
        {"type": "categorical", "choices": ["adam", NAN]},
        "space.optimizer.choices[1]",
    ),
    (
        "list choice",
        "optimizer",
        {"type": "categorical", "choices": [[1], [2]]},
        "space.optimizer.choices[0]",
    ),
    (
        "when refers to nothing",
        "beta2",
        {"type": "float", "low": 0.9, "high": 0.99, "when": {"optimzer": ["adam"]}},
        "space.beta2.when.optimzer",
    ),
    (
        "when value not a choice",
        "beta2",
        {"type": "float", "low": 0.9, "high": 0.99, "when": {"optimizer": ["sgd"]}},
        "space.beta2.when.optimizer",
    ),
    (
        "when refers to a float",
        "beta2",
        {"type": "float", "low": 0.9, "high": 0.99, "when": {"beta1": [0.9]}},
        "space.beta2.when.beta1",
    ),
    (
        "when value differs from a fixed value",
        "beta2",
        {"type": "float", "low": 0.9, "high": 0.99, "when": {"epochs": [30]}},
        "space.beta2.when.epochs",
    ),
    (
        "when on itself",
        "beta2",
        {"type": "categorical", "choices": [1, 2], "when": {"beta2": [1]}},
        "space.beta2.when.beta2",
    ),
    ("empty when", "beta2", {"type": "float", "low": 0.9, "high": 0.99, "when": {}}, "space.beta2.when"),
    (
        "when with no allowed value",
        "beta2",
        {"type": "float", "low": 0.9, "high": 0.99, "when": {"optimizer": []}},
        "space.beta2.when.optimizer",
    ),
]


@pytest.mark.parametrize(("name", "entry", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_space_entry_names_the_field(name: str, entry: Any, field: str) -> None:
    spec = copy.deepcopy(EXAMPLE_SPACE)
    spec[name] = entry
    with pytest.raises(InvalidSpec) as caught:
        SearchSpace.from_spec(spec)
    assert caught.value.field == field
    assert caught.value.message


def test_low_above_high_message_says_what_must_hold_and_what_was_given() -> None:
    with pytest.raises(InvalidSpec, match=r"`low <= high` must hold, got low=0.1, high=0.01"):
        SearchSpace.from_spec({"lr": {"type": "float", "low": 0.1, "high": 0.01}})


def test_conditions_that_form_a_cycle_are_rejected() -> None:
    spec = {
        "a": {"type": "categorical", "choices": ["x", "y"], "when": {"b": ["x"]}},
        "b": {"type": "categorical", "choices": ["x", "y"], "when": {"a": ["x"]}},
    }
    with pytest.raises(InvalidSpec, match="cycle") as caught:
        SearchSpace.from_spec(spec)
    assert caught.value.field in {"space.a.when", "space.b.when"}


@pytest.mark.parametrize("raw", [{}, [], "lr", None])
def test_space_must_be_a_non_empty_object(raw: Any) -> None:
    with pytest.raises(InvalidSpec) as caught:
        SearchSpace.from_spec(raw)
    assert caught.value.field == "space"


INVALID_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    ("value above high", {**ADAM_CONFIG, "learning_rate": 3.0}, "cfg.learning_rate"),
    ("unknown choice", {**ADAM_CONFIG, "optimizer": "sgd"}, "cfg.optimizer"),
    ("unknown parameter", {**ADAM_CONFIG, "dropout": 0.5}, "cfg.dropout"),
    ("missing tunable", {k: v for k, v in ADAM_CONFIG.items() if k != "beta1"}, "cfg.beta1"),
    ("different fixed value", {**ADAM_CONFIG, "epochs": 5}, "cfg.epochs"),
    ("inactive parameter given", {**ADAM_CONFIG, "optimizer": "momentum"}, "cfg.beta2"),
    ("fractional int", {**ADAM_CONFIG, "hidden_units": 64.5}, "cfg.hidden_units"),
    ("bool for a float", {**ADAM_CONFIG, "learning_rate": True}, "cfg.learning_rate"),
    ("bool for true-or-1 choice", {**ADAM_CONFIG, "batch_norm": 1}, "cfg.batch_norm"),
]


@pytest.mark.parametrize(
    ("config", "field"), [c[1:] for c in INVALID_CONFIGS], ids=[c[0] for c in INVALID_CONFIGS]
)
def test_config_outside_the_space_names_the_parameter(config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        example_space().validate_params(config, "cfg")
    assert caught.value.field == field


def test_valid_config_gets_the_fixed_values_filled_in() -> None:
    params = example_space().validate_params({**ADAM_CONFIG, "hidden_units": 64.0}, "cfg")
    assert params["epochs"] == 20 and params["batch_size"] == 64
    assert params["hidden_units"] == 64 and isinstance(params["hidden_units"], int)
