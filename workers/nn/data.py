"""Data preparation: seeded stratified splits, input standardisation, and shuffled mini-batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SCALE = 1e-8


@dataclass(frozen=True)
class Split:
    """Row indices (sorted) of the train, dev and test sets; dev is never empty, test may be."""

    train: np.ndarray
    dev: np.ndarray
    test: np.ndarray


def stratified_split(
    y: np.ndarray, dev_fraction: float, test_fraction: float, rng: np.random.Generator
) -> Split:
    """Split the rows of labels y (m,) so each class is spread over train/dev/test in the given fractions.

    Per class, round(fraction · count) examples go to dev and to test, keeping at least one in train.
    """
    parts: dict[str, list[np.ndarray]] = {"train": [], "dev": [], "test": []}
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_dev = round(dev_fraction * rows.size)
        n_test = min(round(test_fraction * rows.size), rows.size - n_dev - 1) if rows.size > 1 else 0
        n_test = max(n_test, 0)
        parts["dev"].append(rows[:n_dev])
        parts["test"].append(rows[n_dev : n_dev + n_test])
        parts["train"].append(rows[n_dev + n_test :])
    train, dev, test = (np.sort(np.concatenate(parts[name])) for name in ("train", "dev", "test"))
    if dev.size == 0:
        if train.size < 2:
            raise ValueError(f"cannot split {y.size} examples into a train and a dev set")
        moved = rng.integers(train.size)
        dev, train = train[moved : moved + 1], np.delete(train, moved)
    return Split(train=train, dev=dev, test=test)


@dataclass(frozen=True)
class Standardizer:
    """x ↦ (x - mean) / scale per feature, with mean and scale (n_x,) fitted on the training set only."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """Mean and standard deviation of X (m, n_x) per feature; constant features keep scale 1."""
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        return cls(mean=mean, scale=np.where(std > MIN_SCALE, std, 1.0))

    @classmethod
    def identity(cls, n_features: int) -> Standardizer:
        """A standardizer that leaves inputs unchanged."""
        return cls(mean=np.zeros(n_features), scale=np.ones(n_features))

    def transform(self, X: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
        """(X - mean) / scale as a new C-contiguous array of `dtype`, X (m, n_x)."""
        return np.ascontiguousarray((X - self.mean) / self.scale, dtype=dtype)


def batch_bounds(m: int, batch_size: int) -> list[tuple[int, int]]:
    """[start, stop) of each mini-batch over m rows; batch_size >= m gives one batch (batch gradient descent).

    A last batch of a single example is merged into the one before it (batch statistics need two examples).
    """
    bounds = [(start, min(start + batch_size, m)) for start in range(0, m, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1 and batch_size > 1:
        bounds[-2:] = [(bounds[-2][0], m)]
    return bounds


class EpochShuffler:
    """Reorders the training inputs X (m, n_x) and targets T (m, C) into preallocated buffers once per epoch,
    so every mini-batch is a contiguous slice of rows."""

    def __init__(self, X: np.ndarray, T: np.ndarray) -> None:
        self.X, self.T = X, T
        self.X_shuffled = np.empty_like(X)
        self.T_shuffled = np.empty_like(T)

    def shuffle(self, permutation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X and T with rows in `permutation` order (m,); the returned arrays are reused next epoch."""
        np.take(self.X, permutation, axis=0, out=self.X_shuffled)
        np.take(self.T, permutation, axis=0, out=self.T_shuffled)
        return self.X_shuffled, self.T_shuffled
