"""Small builders shared by the trainer tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workers.nn.init import initialize
from workers.nn.losses import targets
from workers.nn.network import Network
from workers.nn.params import layout_for


def make_network(
    n_features: int,
    hidden: Sequence[int],
    n_classes: int,
    *,
    activation: str = "relu",
    output: str = "softmax",
    batch_norm: bool = False,
    l2: float = 0.0,
    keep_probs: Sequence[float] = (),
    dtype: type = np.float64,
    seed: int = 0,
) -> Network:
    """An initialised network n_features → hidden → (n_classes softmax units or 1 sigmoid unit)."""
    n_outputs = 1 if output == "sigmoid" else n_classes
    layout = layout_for(n_features, hidden, n_outputs, batch_norm)
    network = Network(layout, activation, output, keep_probs=keep_probs, l2=l2, dtype=dtype)
    initialize(network.layers, "he", 1.0, np.random.default_rng(seed))
    return network


def random_problem(
    m: int, n_features: int, n_classes: int, n_outputs: int, seed: int = 1, dtype: type = np.float64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (m, n_features) standard normal, labels y (m,) in 0..n_classes-1, their targets T (m, n_outputs)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_features)).astype(dtype)
    y = rng.integers(0, n_classes, size=m)
    return X, y, targets(y, n_outputs, dtype)
