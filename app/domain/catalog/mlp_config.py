"""`TrainConfig`: every hyperparameter of the `mlp` objective's trainer, validated when constructed.

It lives in the domain because the API checks a spec's fixed values with it before any trial runs; the
trainer (`workers/nn/`) takes it as its input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

from caviar import InvalidParams

Activation = Literal["relu", "tanh", "leaky_relu"]
Output = Literal["auto", "softmax", "sigmoid"]
Init = Literal["he", "xavier", "glorot"]
Optimizer = Literal["gd", "momentum", "rmsprop", "adam"]
LrDecay = Literal["none", "inverse_time", "exponential", "inverse_sqrt", "staircase"]
DType = Literal["float32", "float64"]

ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "leaky_relu")
OUTPUTS: tuple[str, ...] = ("auto", "softmax", "sigmoid")
INITS: tuple[str, ...] = ("he", "xavier", "glorot")
OPTIMIZERS: tuple[str, ...] = ("gd", "momentum", "rmsprop", "adam")
LR_DECAYS: tuple[str, ...] = ("none", "inverse_time", "exponential", "inverse_sqrt", "staircase")
DTYPES: tuple[str, ...] = ("float32", "float64")

MAX_LAYERS = 16
MAX_UNITS = 4096
MAX_EPOCHS = 10_000


@dataclass(frozen=True)
class TrainConfig:
    """The hyperparameters of one training run; the constructor rejects values out of range.

    `hidden_units` and `keep_prob` are normalised to one entry per hidden layer (length `n_layers`).
    """

    n_layers: int = 2
    hidden_units: int | tuple[int, ...] = 64
    activation: Activation = "relu"
    output: Output = "auto"
    init: Init = "he"
    init_scale: float = 1.0
    normalize_inputs: bool = True
    batch_size: int = 64
    optimizer: Optimizer = "adam"
    learning_rate: float = 0.001
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    lr_decay: LrDecay = "none"
    decay_rate: float = 1.0
    decay_steps: int = 10
    l2: float = 0.0
    keep_prob: float | tuple[float, ...] = 1.0
    batch_norm: bool = False
    bn_momentum: float = 0.9
    epochs: int = 20
    early_stopping_patience: int | None = 0
    dev_fraction: float = 0.2
    test_fraction: float = 0.2
    dtype: DType = "float32"

    def __post_init__(self) -> None:
        _check_int("n_layers", self.n_layers, 0, MAX_LAYERS)
        units = _per_layer("hidden_units", self.hidden_units, self.n_layers)
        units = tuple(_check_int("hidden_units", value, 1, MAX_UNITS) for value in units)
        object.__setattr__(self, "hidden_units", units)
        keep = _per_layer("keep_prob", self.keep_prob, self.n_layers)
        keep = tuple(_check_float("keep_prob", value, 0.0, 1.0, low_open=True) for value in keep)
        object.__setattr__(self, "keep_prob", keep)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("output", self.output, OUTPUTS)
        _check_choice("init", self.init, INITS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("lr_decay", self.lr_decay, LR_DECAYS)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_float("init_scale", self.init_scale, 0.0, math.inf, low_open=True)
        _check_int("batch_size", self.batch_size, 1, 1_000_000)
        _check_float("learning_rate", self.learning_rate, 0.0, math.inf, low_open=True)
        for name in ("beta", "beta1", "beta2", "bn_momentum"):
            _check_float(name, getattr(self, name), 0.0, 1.0, high_open=True)
        _check_float("epsilon", self.epsilon, 0.0, 1.0, low_open=True)
        if self.lr_decay in ("exponential", "staircase"):
            _check_float("decay_rate", self.decay_rate, 0.0, 1.0, low_open=True)
        else:
            _check_float("decay_rate", self.decay_rate, 0.0, math.inf)
        _check_int("decay_steps", self.decay_steps, 1, MAX_EPOCHS)
        _check_float("l2", self.l2, 0.0, math.inf)
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        if self.early_stopping_patience is None:
            object.__setattr__(self, "early_stopping_patience", 0)
        _check_int("early_stopping_patience", self.early_stopping_patience, 0, MAX_EPOCHS)
        _check_float("dev_fraction", self.dev_fraction, 0.0, 0.5, low_open=True)
        _check_float("test_fraction", self.test_fraction, 0.0, 0.5)
        if self.dev_fraction + self.test_fraction > 0.8:
            raise InvalidParams("test_fraction", "dev_fraction + test_fraction must be at most 0.8")
        if self.batch_norm and self.batch_size < 2:
            raise InvalidParams("batch_norm", "needs batch_size >= 2 (batch statistics of one example are 0)")

    @property
    def units(self) -> tuple[int, ...]:
        """Hidden units per hidden layer (length `n_layers`)."""
        assert isinstance(self.hidden_units, tuple)
        return self.hidden_units

    @property
    def keep_probs(self) -> tuple[float, ...]:
        """Dropout keep probability per hidden layer (length `n_layers`)."""
        assert isinstance(self.keep_prob, tuple)
        return self.keep_prob

    @property
    def patience(self) -> int:
        """Epochs without improvement of the dev metric before stopping; 0 = early stopping off."""
        return self.early_stopping_patience or 0


PARAMETER_NAMES: frozenset[str] = frozenset(field.name for field in fields(TrainConfig))


def _per_layer(name: str, value: object, n_layers: int) -> tuple[object, ...]:
    if isinstance(value, list | tuple):
        if len(value) != n_layers:
            raise InvalidParams(
                name, f"a list needs one entry per hidden layer ({n_layers}), got {len(value)}"
            )
        return tuple(value)
    return (value,) * n_layers


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParams(name, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise InvalidParams(name, f"must be in [{low}, {high}], got {value}")
    return value


def _check_float(
    name: str, value: object, low: float, high: float, low_open: bool = False, high_open: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParams(name, f"must be a number, got {value!r}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if not math.isfinite(number) or too_low or too_high:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise InvalidParams(name, f"must be in {interval}, got {value}")
    return number


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidParams(name, f"must be one of {', '.join(choices)}; got {value!r}")
