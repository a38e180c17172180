"""TrainConfig validation: every out-of-range value is refused with the parameter's name."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.catalog.mlp_config import TrainConfig
from caviar import InvalidParams


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n_layers", -1),
        ("n_layers", 1.5),
        ("hidden_units", 0),
        ("hidden_units", True),
        ("activation", "sigmoid"),
        ("output", "linear"),
        ("init", "orthogonal"),
        ("init_scale", 0.0),
        ("batch_size", 0),
        ("optimizer", "sgd"),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("beta", 1.0),
        ("beta1", -0.1),
        ("beta2", 1.0),
        ("epsilon", 0.0),
        ("lr_decay", "cosine"),
        ("decay_steps", 0),
        ("l2", -1.0),
        ("keep_prob", 0.0),
        ("keep_prob", 1.5),
        ("bn_momentum", 1.0),
        ("epochs", 0),
        ("early_stopping_patience", -1),
        ("dev_fraction", 0.0),
        ("dev_fraction", 0.6),
        ("test_fraction", -0.1),
        ("dtype", "float16"),
    ],
)
def test_out_of_range_value_is_refused_with_its_name(name: str, value: Any) -> None:
    with pytest.raises(InvalidParams) as error:
        TrainConfig(**{name: value})

    assert error.value.name == name


def test_per_layer_lists_need_one_entry_per_hidden_layer() -> None:
    with pytest.raises(InvalidParams, match="one entry per hidden layer") as error:
        TrainConfig(n_layers=3, hidden_units=[64, 32])

    assert error.value.name == "hidden_units"


def test_scalars_are_broadcast_to_every_hidden_layer() -> None:
    config = TrainConfig(n_layers=3, hidden_units=32, keep_prob=0.5)

    assert config.units == (32, 32, 32)
    assert config.keep_probs == (0.5, 0.5, 0.5)


def test_exponential_decay_rate_must_not_exceed_one() -> None:
    with pytest.raises(InvalidParams) as error:
        TrainConfig(lr_decay="exponential", decay_rate=1.5)

    assert error.value.name == "decay_rate"


def test_batch_norm_needs_batches_of_at_least_two() -> None:
    with pytest.raises(InvalidParams) as error:
        TrainConfig(batch_norm=True, batch_size=1)

    assert error.value.name == "batch_norm"


def test_dev_and_test_fractions_leave_a_training_set() -> None:
    with pytest.raises(InvalidParams):
        TrainConfig(dev_fraction=0.5, test_fraction=0.5)


def test_none_patience_means_early_stopping_off() -> None:
    assert TrainConfig(early_stopping_patience=None).patience == 0
