"""Softmax cross-entropy with one shift per batch agrees with the textbook per-row shift, in every case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax

from workers.nn.losses import softmax_cross_entropy, targets


def reference(Z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    log_p = log_softmax(Z.astype(np.float64), axis=1)
    return float(-log_p[np.arange(len(y)), y].sum()), np.exp(log_p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "spread",
    [
        pytest.param(3.0, id="ordinary logits: one shift for the batch"),
        pytest.param(1000.0, id="rows far apart: the per-row shift takes over"),
    ],
)
def test_cost_and_probabilities_match_a_per_row_log_softmax(dtype: type, spread: float) -> None:
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((64, 10)) * 3.0
    Z[::2] -= spread  # every other row far below the batch's largest logit when spread is large
    y = rng.integers(0, 10, 64)
    expected_cost, expected_p = reference(Z, y)
    Z_work = Z.astype(dtype)
    P = np.empty_like(Z_work)
    row = np.empty((64, 1), dtype=dtype)
    cost = softmax_cross_entropy(Z_work, targets(y, 10, dtype), P, row)
    tolerance = 1e-5 if dtype is np.float32 else 1e-12
    assert cost == pytest.approx(expected_cost, rel=tolerance)
    np.testing.assert_allclose(P, expected_p, rtol=tolerance * 10, atol=tolerance)
    assert np.isfinite(P).all()
