"""Synthetic classification datasets drawn from an injected generator: spirals, moons, blobs.

Each returns X (n_samples, n_features) float64 and y (n_samples,) int64 labels 0..n_classes-1, with the
classes as equal in size as n_samples allows.
"""

from __future__ import annotations

import numpy as np

BLOB_CENTER_BOX = 10.0


def class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """n_samples spread over n_classes, the first ones one larger when it does not divide evenly."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (1 if label < extra else 0) for label in range(n_classes)]


def spirals(
    n_samples: int, noise: float, n_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved 2-D spiral arms, one per class (CS231n's toy data): radius 0→1 while the angle turns 4 rad,
    arm j starting at angle 4j, with N(0, noise²) added to the angle."""
    parts, labels = [], []
    for label, size in enumerate(class_sizes(n_samples, n_classes)):
        radius = np.linspace(0.0, 1.0, size)
        angle = np.linspace(4.0 * label, 4.0 * (label + 1), size) + noise * rng.standard_normal(size)
        parts.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        labels.append(np.full(size, label, dtype=np.int64))
    return np.concatenate(parts), np.concatenate(labels)


def moons(n_samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles in 2-D (like scikit-learn's make_moons), plus N(0, noise²) noise."""
    n_outer, n_inner = class_sizes(n_samples, 2)
    outer = np.linspace(0.0, np.pi, n_outer)
    inner = np.linspace(0.0, np.pi, n_inner)
    X = np.concatenate(
        [
            np.column_stack([np.cos(outer), np.sin(outer)]),
            np.column_stack([1.0 - np.cos(inner), 0.5 - np.sin(inner)]),
        ]
    )
    y = np.concatenate([np.zeros(n_outer, dtype=np.int64), np.ones(n_inner, dtype=np.int64)])
    return X + noise * rng.standard_normal(X.shape), y


def blobs(
    n_samples: int, noise: float, n_classes: int, n_features: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one per class: centres uniform in [-10, 10]^n_features, standard
    deviation `noise` around each."""
    centers = rng.uniform(-BLOB_CENTER_BOX, BLOB_CENTER_BOX, size=(n_classes, n_features))
    parts, labels = [], []
    for label, size in enumerate(class_sizes(n_samples, n_classes)):
        parts.append(centers[label] + noise * rng.standard_normal((size, n_features)))
        labels.append(np.full(size, label, dtype=np.int64))
    return np.concatenate(parts), np.concatenate(labels)
