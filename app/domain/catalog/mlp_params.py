"""The `mlp` objective's hyperparameter names, metrics and the check that turns JSON values into a config."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.domain.catalog.mlp_config import PARAMETER_NAMES, TrainConfig
from caviar import InvalidParams

MLP_PARAMETERS: frozenset[str] = PARAMETER_NAMES
"""Every hyperparameter name `mlp` accepts; see docs/trainer.md for types, defaults and meaning."""

MLP_CURVE_METRICS: frozenset[str] = frozenset({"train_cost", "dev_cost", "dev_accuracy", "dev_auc"})
"""Metrics reported after every epoch (dev_auc only for two classes): what a pruner can compare."""

MLP_METRICS: frozenset[str] = MLP_CURVE_METRICS | {"test_accuracy", "epochs", "best_epoch"}
"""Every metric `mlp` may return (dev_auc only for two classes, test_accuracy only with test_fraction > 0)."""

_INTS = frozenset({"n_layers", "batch_size", "decay_steps", "epochs", "early_stopping_patience"})
_FLOATS = frozenset(
    {
        "init_scale",
        "learning_rate",
        "beta",
        "beta1",
        "beta2",
        "epsilon",
        "decay_rate",
        "l2",
        "bn_momentum",
        "dev_fraction",
        "test_fraction",
    }
)
_BOOLS = frozenset({"normalize_inputs", "batch_norm"})
_STRINGS = frozenset({"activation", "output", "init", "optimizer", "lr_decay", "dtype"})
_INT_OR_LIST = frozenset({"hidden_units"})
_FLOAT_OR_LIST = frozenset({"keep_prob"})


def validate_params(params: Mapping[str, Any]) -> TrainConfig:
    """The training configuration for these hyperparameters (missing ones take their defaults).

    Accepts JSON-shaped values: integral floats for integers (64.0), ints for floats, lists for the per-layer
    `hidden_units` and `keep_prob`, `null` for `early_stopping_patience`. Raises `InvalidParams(name, reason)`
    for an unknown name, a value of the wrong type or out of range.
    """
    unknown = sorted(set(params) - MLP_PARAMETERS)
    if unknown:
        raise InvalidParams(
            unknown[0], f"unknown hyperparameter for mlp; known: {', '.join(sorted(MLP_PARAMETERS))}"
        )
    return TrainConfig(**{name: _coerce(name, value) for name, value in params.items()})


def _coerce(name: str, value: Any) -> Any:
    if name in _INTS:
        return None if value is None and name == "early_stopping_patience" else _as_int(name, value)
    if name in _FLOATS:
        return _as_float(name, value)
    if name in _BOOLS:
        return _as_bool(name, value)
    if name in _STRINGS:
        if not isinstance(value, str):
            raise InvalidParams(name, f"must be a string, got {value!r}")
        return value
    convert = _as_int if name in _INT_OR_LIST else _as_float
    if isinstance(value, list | tuple):
        return tuple(convert(name, item) for item in value)
    return convert(name, value)


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool | np.bool_):
        raise InvalidParams(name, f"must be an integer, got {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise InvalidParams(name, f"must be an integer, got {value!r}")


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidParams(name, f"must be a number, got {value!r}")
    return float(value)


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidParams(name, f"must be true or false, got {value!r}")
