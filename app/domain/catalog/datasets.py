"""Built-in dataset names and the options of the generated ones: what a spec may ask for.

The loaders live with the workers (`workers/datasets/builtin.py`); the API checks a spec against this
catalog without importing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from caviar import InvalidParams

BUNDLED_DATASETS: tuple[str, ...] = ("digits", "breast_cancer", "iris", "wine")
"""scikit-learn's bundled datasets (no download); they take no options."""


@dataclass(frozen=True)
class Option:
    """A numeric dataset option: its kind, default and inclusive range."""

    kind: type[int] | type[float]
    default: int | float
    low: int | float
    high: int | float

    def parse(self, key: str, value: Any) -> int | float:
        """The value as this option's kind, or InvalidParams(key, reason)."""
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InvalidParams(key, f"must be a number, got {value!r}")
        parsed: int | float = float(value)
        if self.kind is int:
            if not float(value).is_integer():
                raise InvalidParams(key, f"must be an integer, got {value!r}")
            parsed = int(value)
        if not self.low <= parsed <= self.high:
            raise InvalidParams(key, f"must be in [{self.low}, {self.high}], got {parsed}")
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

BUILTIN_DATASETS: frozenset[str] = frozenset(BUNDLED_DATASETS) | frozenset(GENERATED_OPTIONS)


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
