"""Inverted dropout on hidden activations: keep a unit with probability keep_prob, scale kept ones up.

Kept units are scaled by 1/keep_prob so E[output] equals the input, and evaluation uses the activations as
they are (no dropout, no rescaling). The mask is stored scaled: forward and backward are one product each.
"""

from __future__ import annotations

import numpy as np


def dropout_mask(rng: np.random.Generator, keep_prob: float, out: np.ndarray) -> None:
    """Fill out (m, n) with 1/keep_prob where a unit is kept (probability keep_prob) and 0 where dropped."""
    rng.random(dtype=out.dtype, out=out)
    np.less(out, keep_prob, out=out)
    out *= 1.0 / keep_prob


def dropout_forward(A: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    """out = A · mask, A and out (m, n)."""
    np.multiply(A, mask, out=out)


def dropout_backward(dA: np.ndarray, mask: np.ndarray) -> None:
    """dA *= mask: dropped units pass no gradient, kept ones are scaled like in the forward."""
    dA *= mask
