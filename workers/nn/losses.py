"""Output layers and their cross-entropy costs, computed from the logits for numerical stability.

Z is (m, C) logits, T is (m, C) targets (one-hot rows for softmax; a 0/1 column for sigmoid, C = 1), P is
(m, C) output probabilities. With either pairing, ∂(summed cost)/∂Z = P - T.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

OutputLoss = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]


def softmax_cross_entropy(Z: np.ndarray, T: np.ndarray, P: np.ndarray, row: np.ndarray) -> float:
    """Fill P = softmax(Z) row-wise and return Σᵢ -log Pᵢ,yᵢ (summed over the m examples).

    Z is overwritten with Z - max(Z) per row; `row` is (m, 1) scratch.
    """
    np.max(Z, axis=1, keepdims=True, out=row)
    Z -= row
    np.exp(Z, out=P)
    np.add.reduce(P, axis=1, keepdims=True, out=row)
    P /= row
    np.log(row, out=row)
    # -log softmax(z)_y = log Σ exp(z - max) - (z_y - max); T picks z_y.
    return float(np.add.reduce(row, axis=None) - np.vdot(T, Z))


def sigmoid_cross_entropy(Z: np.ndarray, T: np.ndarray, P: np.ndarray, row: np.ndarray) -> float:
    """Fill P = σ(Z) and return Σᵢ -[tᵢ log Pᵢ + (1 - tᵢ) log(1 - Pᵢ)]; Z, T, P, row are (m, 1).

    Uses softplus(z) - t·z = max(z, 0) + log(1 + e^-|z|) - t·z, which never overflows.
    """
    np.abs(Z, out=row)
    np.negative(row, out=row)
    np.exp(row, out=row)
    np.divide(np.where(Z >= 0.0, 1.0, row), 1.0 + row, out=P)
    cost = np.maximum(Z, 0.0) + np.log1p(row) - T * Z
    return float(np.add.reduce(cost, axis=None))


OUTPUT_LOSSES: dict[str, OutputLoss] = {"softmax": softmax_cross_entropy, "sigmoid": sigmoid_cross_entropy}


def targets(y: np.ndarray, n_outputs: int, dtype: np.dtype | type) -> np.ndarray:
    """Targets T for labels y (m,) in 0..C-1: (m, C) one-hot if n_outputs > 1, else the (m, 1) 0/1 column."""
    if n_outputs == 1:
        return y.astype(dtype).reshape(-1, 1)
    T = np.zeros((y.shape[0], n_outputs), dtype=dtype)
    T[np.arange(y.shape[0]), y] = 1.0
    return T


def evaluate_logits(Z: np.ndarray, y: np.ndarray, output: str) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over the m examples and the (m, C) probabilities, for logits Z (m, C)."""
    T = targets(y, Z.shape[1], Z.dtype)
    P = np.empty_like(Z)
    row = np.empty((Z.shape[0], 1), dtype=Z.dtype)
    total = OUTPUT_LOSSES[output](Z.copy(), T, P, row)
    return total / max(Z.shape[0], 1), P
