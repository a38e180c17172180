"""Inverted dropout: scaled by 1/keep_prob in training, absent at evaluation."""

from __future__ import annotations

import numpy as np

from tests.unit.nn.helpers import make_network, random_problem
from workers.nn.dropout import dropout_mask


def test_mask_keeps_units_with_probability_keep_prob_and_scales_them_by_its_inverse() -> None:
    mask = np.empty((400, 250))

    dropout_mask(np.random.default_rng(0), 0.8, mask)

    assert set(np.unique(mask)) == {0.0, 1.0 / 0.8}
    assert abs((mask > 0).mean() - 0.8) < 0.01
    assert abs(mask.mean() - 1.0) < 0.01


def test_training_forward_passes_kept_activations_scaled_and_dropped_ones_as_zero() -> None:
    network = make_network(4, [50, 30], 3, keep_probs=(0.5, 0.7))
    X, _, _ = random_problem(20, 4, 3, 3)

    ws = network.forward(X, training=True, rng=np.random.default_rng(1))

    for buffers, keep_prob in zip(ws.hidden, (0.5, 0.7), strict=True):
        kept = buffers.keep > 0
        np.testing.assert_allclose(buffers.D[kept], buffers.A[kept] / keep_prob)
        assert np.all(buffers.D[~kept] == 0.0)
        assert 0.0 < kept.mean() < 1.0


def test_dropout_is_off_at_evaluation() -> None:
    with_dropout = make_network(4, [50, 30], 3, keep_probs=(0.5, 0.5), seed=7)
    without = make_network(4, [50, 30], 3, seed=7)
    X, _, _ = random_problem(20, 4, 3, 3)

    first, second = with_dropout.logits(X), with_dropout.logits(X)

    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, without.logits(X))


def test_gradient_is_masked_like_the_forward() -> None:
    network = make_network(4, [30], 3, keep_probs=(0.6,))
    X, _, T = random_problem(12, 4, 3, 3)

    network.cost_and_gradients(X, T, rng=np.random.default_rng(2))

    # A hidden unit dropped for every example gets no gradient on its incoming weights.
    keep = network.workspace(12).hidden[0].keep
    always_dropped = np.flatnonzero((keep == 0).all(axis=0))
    assert np.all(network.grad_layers[0].W[:, always_dropped] == 0.0)
