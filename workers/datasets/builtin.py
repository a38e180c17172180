"""Built-in datasets: scikit-learn's bundled ones (no download) and generated ones with options.

Their names and options are the domain's catalog (`app.domain.catalog.datasets`); this module loads them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from app.domain.catalog.datasets import BUNDLED_DATASETS, validate_dataset_options
from caviar import Dataset
from workers.datasets import generated

BUNDLED: dict[str, str] = {
    "digits": "load_digits",
    "breast_cancer": "load_breast_cancer",
    "iris": "load_iris",
    "wine": "load_wine",
}
"""scikit-learn's loader of each bundled dataset, by name: scikit-learn (~60 MB resident) is imported
by the first trial that loads one, not by every worker at start."""
assert set(BUNDLED) == set(BUNDLED_DATASETS), "the catalog and the loaders name the same datasets"


def _sklearn_loader(name: str) -> Callable[..., Any]:
    from sklearn import datasets as sklearn_datasets

    loader: Callable[..., Any] = getattr(sklearn_datasets, BUNDLED[name])
    return loader


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
    X, y = _sklearn_loader(name)(return_X_y=True)
    return _frozen(name, X, y)


def _frozen(name: str, X: np.ndarray, y: np.ndarray) -> Dataset:
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return Dataset(name=name, X=X, y=y, n_classes=int(y.max()) + 1)
