"""Softmax cross-entropy with one shift per batch agrees with the textbook per-row shift, in every case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax

from workers.nn.losses import evaluate_logits, softmax_cross_entropy, targets


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


def confident_rows_with_a_gap(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Well-classified rows (cost ~1e-4 each), every other one 30 below the batch's largest logit."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 10, 256)
    Z = rng.standard_normal((256, 10))
    Z[np.arange(256), y] += 12.0
    Z[::2] -= 30.0
    return Z.astype(dtype), y


def test_evaluation_costs_keep_full_precision_for_confident_rows_far_below_the_batch_max() -> None:
    Z, y = confident_rows_with_a_gap(np.float32)
    expected_cost, expected_p = reference(Z, y)
    cost, P = evaluate_logits(Z, y, "softmax")
    # float32's own limit on a per-row log-softmax: log of a sum within 1e-4 of 1, ~1e-7 per example.
    assert cost == pytest.approx(expected_cost / 256, abs=2e-7)
    np.testing.assert_allclose(P, expected_p, rtol=1e-5, atol=1e-7)


def test_a_training_batch_cost_loses_at_most_the_documented_precision() -> None:
    Z, y = confident_rows_with_a_gap(np.float32)
    expected_cost, expected_p = reference(Z, y)
    P, row = np.empty_like(Z), np.empty((256, 1), np.float32)
    cost = softmax_cross_entropy(Z.copy(), targets(y, 10, np.float32), P, row)
    gap = 30.0 + 12.0  # the shifted rows' largest logits lie up to this far below the batch's
    assert abs(cost - expected_cost) / 256 < gap * float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(P, expected_p, rtol=1e-5, atol=1e-7)  # the gradient's part: full precision


def test_an_empty_batch_costs_nothing() -> None:
    Z = np.empty((0, 10), np.float32)
    assert softmax_cross_entropy(Z, np.empty((0, 10), np.float32), np.empty_like(Z), np.empty((0, 1))) == 0.0
