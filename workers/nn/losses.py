"""Output layers and their cross-entropy costs, computed from the logits for numerical stability.

Z is (m, C) logits, T is (m, C) targets (one-hot rows for softmax; a 0/1 column for sigmoid, C = 1), P is
(m, C) output probabilities. With either pairing, ∂(summed cost)/∂Z = P - T.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

OutputLoss = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]


def softmax_cross_entropy(Z: np.ndarray, T: np.ndarray, P: np.ndarray, row: np.ndarray) -> float:
    """Fill P = softmax(Z) row-wise and return Σᵢ -log Pᵢ,yᵢ (summed over the m examples).

    Z is overwritten with Z - shift, where the shift is the batch's largest logit: softmax is the same for
    any shift per row, and one global max costs ~1 µs where NumPy's max along a row of C ≈ 10 costs
    ~20 µs, as much as a layer's matrix product. Only if that leaves some row's sum of exponentials
    near underflow (its logits far below the batch's largest) is the shift taken per row, as usual. Row
    sums are a product with a column of ones (BLAS), for the same reason; `row` is (m, 1) scratch.
    The price: a row whose largest logit lies g below the batch's loses about g·eps of absolute
    precision in its cost (float32, g = 30: ~4e-6 per example, noticeable only in the cost of a
    batch that is already fitted); P, hence the gradients, keep full precision. `evaluate_logits`,
    which reports the dev and test costs that searches optimise, shifts per row first.
    """
    if Z.size == 0:
        return 0.0
    ones = _ones_column(Z.shape[1], Z.dtype)
    shift = Z.max()
    np.subtract(Z, shift, out=P)
    np.exp(P, out=P)
    np.matmul(P, ones, out=row)
    if not row.min() >= _SMALLEST_SAFE_SUM[Z.dtype.type]:  # NaN sums take the per-row path too
        np.max(Z, axis=1, keepdims=True, out=row)
        Z -= row
        np.exp(Z, out=P)
        np.matmul(P, ones, out=row)
    else:
        Z -= shift
    P /= row
    np.log(row, out=row)
    # -log softmax(z)_y = log Σ exp(z - shift) - (z_y - shift); T picks z_y.
    return float(np.add.reduce(row, axis=None) - np.vdot(T, Z))


# A row sum this far above the smallest normal number keeps the row's largest term exact; below it,
# the per-row shift is used.
_SMALLEST_SAFE_SUM: dict[type, float] = {
    np.float32: float(np.finfo(np.float32).tiny) * 2.0**24,
    np.float64: float(np.finfo(np.float64).tiny) * 2.0**53,
}


@functools.cache
def _ones_column(n: int, dtype: np.dtype) -> np.ndarray:
    ones = np.ones((n, 1), dtype=dtype)
    ones.flags.writeable = False
    return ones


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
    if output == "softmax" and Z.size:
        # Every row's largest logit becomes 0, so the batch-wide shift costs no precision in the costs
        # users see and search on (dev_cost, test).
        shifted = Z - Z.max(axis=1, keepdims=True)
    else:
        shifted = Z.copy()
    total = OUTPUT_LOSSES[output](shifted, T, P, row)
    return total / max(Z.shape[0], 1), P
