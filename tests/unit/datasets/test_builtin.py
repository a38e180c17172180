"""Built-in datasets: bundled loaders, generated datasets and their options."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.domain.catalog import BUILTIN_DATASETS, validate_dataset_options
from caviar import InvalidParams
from workers.datasets.builtin import load_builtin

EXPECTED_SHAPES = {
    "digits": (1797, 64, 10),
    "breast_cancer": (569, 30, 2),
    "iris": (150, 4, 3),
    "wine": (178, 13, 3),
    "spirals": (600, 2, 3),
    "moons": (600, 2, 2),
    "blobs": (600, 2, 3),
}


def test_every_builtin_name_has_a_loader() -> None:
    assert set(EXPECTED_SHAPES) == BUILTIN_DATASETS


@pytest.mark.parametrize("name", sorted(EXPECTED_SHAPES))
def test_loader_returns_features_labels_and_class_count(name: str) -> None:
    dataset = load_builtin(name, {})

    m, n_features, n_classes = EXPECTED_SHAPES[name]
    assert dataset.name == name
    assert dataset.X.shape == (m, n_features)
    assert dataset.X.dtype == np.float64
    assert dataset.y.shape == (m,)
    assert dataset.n_classes == n_classes
    assert set(np.unique(dataset.y)) == set(range(n_classes))
    assert np.isfinite(dataset.X).all()


def test_loaded_arrays_are_read_only_so_a_cached_dataset_cannot_be_changed() -> None:
    dataset = load_builtin("iris", {})

    with pytest.raises(ValueError, match="read-only"):
        dataset.X[0, 0] = 1.0


def test_generated_dataset_is_reproducible_from_its_seed() -> None:
    first = load_builtin("spirals", {"seed": 3})
    second = load_builtin("spirals", {"seed": 3})
    other = load_builtin("spirals", {"seed": 4})

    np.testing.assert_array_equal(first.X, second.X)
    assert not np.array_equal(first.X, other.X)


def test_generated_options_set_size_classes_features_and_noise() -> None:
    blobs = load_builtin("blobs", {"n_samples": 101, "n_classes": 4, "n_features": 5})
    spirals = load_builtin("spirals", {"n_samples": 90, "n_classes": 5})
    quiet = load_builtin("moons", {"noise": 0.0})

    assert blobs.X.shape == (101, 5)
    assert blobs.n_classes == 4
    assert np.bincount(spirals.y).tolist() == [18] * 5
    # Without noise every moon point lies on its unit half circle.
    outer = quiet.X[quiet.y == 0]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)


def test_validation_fills_in_defaults() -> None:
    assert validate_dataset_options("moons", {"n_samples": 200.0}) == {
        "n_samples": 200,
        "noise": 0.2,
        "seed": 0,
    }
    assert validate_dataset_options("digits", {}) == {}


def test_unknown_dataset_is_refused() -> None:
    with pytest.raises(InvalidParams, match="unknown built-in dataset") as error:
        load_builtin("mnist", {})

    assert error.value.name == "dataset"


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("digits", {"n_samples": 100}, "n_samples"),
        ("moons", {"n_classes": 3}, "n_classes"),
        ("spirals", {"n_samples": 5}, "n_samples"),
        ("spirals", {"n_samples": 10.5}, "n_samples"),
        ("spirals", {"noise": -0.1}, "noise"),
        ("blobs", {"n_classes": 1}, "n_classes"),
        ("blobs", {"n_features": "2"}, "n_features"),
        ("moons", {"seed": True}, "seed"),
        ("moons", {"seed": -1}, "seed"),
    ],
)
def test_bad_option_is_refused_with_its_name(name: str, options: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParams) as error:
        validate_dataset_options(name, options)

    assert error.value.name == field
