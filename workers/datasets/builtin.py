"""Built-in datasets: scikit-learn's bundled ones (no download) and generated ones with options."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import datasets as sklearn_datasets

from workers.datasets import generated
from workers.objectives.base import Dataset, InvalidParams

BUNDLED: dict[str, Callable[..., Any]] = {
    "digits": sklearn_datasets.load_digits,
    "breast_cancer": sklearn_datasets.load_breast_cancer,
    "iris": sklearn_datasets.load_iris,
    "wine": sklearn_datasets.load_wine,
}


@dataclass(frozen=True)
class Option:
    """A numeric dataset option: its kind, default and inclusive range."""

    kind: type[int] | type[float]
    default: int | float
    low: int | float
    high: int | float

    def parse(self, key: str, value: Any) -> int | float:
        """The value as this option's kind, or InvalidParams(key, reason)."""
        name = key
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InvalidParams(name, f"must be a number, got {value!r}")
        parsed: int | float = float(value)
        if self.kind is int:
            if not float(value).is_integer():
                raise InvalidParams(name, f"must be an integer, got {value!r}")
            parsed = int(value)
        if not self.low <= parsed <= self.high:
            raise InvalidParams(name, f"must be in [{self.low}, {self.high}], got {parsed}")
        return parsed


N_SAMPLES = Option(int, 600, 10, 100_000)
SEED = Option(int, 0, 0, 2**32 - 1)
N_CLASSES = Option(int, 3, 2, 20)

GENERATED_OPTIONS: dict[str, dict[str, Option]] = {
    "spirals": {
        "n_samples": N_SAMPLES,
        "noise": Option(float, 0.2, 0.0, 10.0),
        "n_classes": N_CLASSES,
        "seed": SEED,
    },
    "moons": {"n_samples": N_SAMPLES, "noise": Option(float, 0.2, 0.0, 10.0), "seed": SEED},
    "blobs": {
        "n_samples": N_SAMPLES,
        "noise": Option(float, 1.0, 0.0, 50.0),
        "n_classes": N_CLASSES,
        "n_features": Option(int, 2, 1, 100),
        "seed": SEED,
    },
}

BUILTIN_DATASETS: frozenset[str] = frozenset(BUNDLED) | frozenset(GENERATED_OPTIONS)


def validate_dataset_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of built-in dataset `name` with defaults filled in.

    Bundled datasets take no options. Raises `InvalidParams("dataset", …)` for an unknown name and
    `InvalidParams(<option>, …)` for an unknown option or a bad value (the API prefixes "dataset.").
    """
    if name not in BUILTIN_DATASETS:
        raise InvalidParams(
            "dataset", f"unknown built-in dataset {name!r}; use one of {', '.join(sorted(BUILTIN_DATASETS))}"
        )
    accepted = GENERATED_OPTIONS.get(name, {})
    for key in options:
        if key not in accepted:
            known = ", ".join(accepted) if accepted else "none"
            raise InvalidParams(key, f"unknown option for {name}; options: {known}")
    return {key: option.parse(key, options.get(key, option.default)) for key, option in accepted.items()}


def load_builtin(name: str, options: Mapping[str, Any]) -> Dataset:
    """Built-in dataset `name`: X (m, n_features) float64 and y (m,) int64, both read-only."""
    values = validate_dataset_options(name, options)
    if name in BUNDLED:
        return _bundled(name)
    rng = np.random.default_rng(values["seed"])
    if name == "spirals":
        X, y = generated.spirals(values["n_samples"], values["noise"], values["n_classes"], rng)
    elif name == "moons":
        X, y = generated.moons(values["n_samples"], values["noise"], rng)
    else:
        X, y = generated.blobs(
            values["n_samples"], values["noise"], values["n_classes"], values["n_features"], rng
        )
    return _frozen(name, X, y)


@functools.cache
def _bundled(name: str) -> Dataset:
    X, y = BUNDLED[name](return_X_y=True)
    return _frozen(name, X, y)


def _frozen(name: str, X: np.ndarray, y: np.ndarray) -> Dataset:
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return Dataset(name=name, X=X, y=y, n_classes=int(y.max()) + 1)
