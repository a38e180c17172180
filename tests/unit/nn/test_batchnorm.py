"""Batch norm: batch statistics in training, running averages at evaluation."""

from __future__ import annotations

import numpy as np

from tests.unit.nn.helpers import make_network, random_problem
from workers.nn.batchnorm import EPSILON
from workers.nn.network import Network


def trained_bn_network(steps: int = 20) -> tuple[Network, np.ndarray, np.ndarray]:
    """A batch-norm network after a few gradient steps, so γ, β and the running statistics are not trivial."""
    network = make_network(5, [6, 4], 3, batch_norm=True)
    X, _, T = random_problem(16, 5, 3, 3)
    for _ in range(steps):
        network.cost_and_gradients(X, T)
        network.params -= 0.05 * network.grads
    return network, X, T


def test_evaluation_of_one_example_equals_its_row_in_a_batch() -> None:
    network, X, _ = trained_bn_network()

    batch = network.logits(X)
    singles = np.vstack([network.logits(X[i : i + 1]) for i in range(X.shape[0])])

    np.testing.assert_allclose(singles, batch, rtol=1e-12, atol=1e-12)


def test_training_mode_output_depends_on_the_rest_of_the_batch() -> None:
    network, X, _ = trained_bn_network()

    in_batch = network.forward(X, training=True).Z_out[:2].copy()
    alone = network.forward(X[:2], training=True).Z_out.copy()

    assert not np.allclose(in_batch, alone)


def test_running_statistics_are_an_exponentially_weighted_average_of_batch_statistics() -> None:
    network = make_network(3, [4], 2, batch_norm=True)
    network.bn_momentum = 0.9
    X, _, _ = random_problem(10, 3, 2, 2)
    Z = X @ network.layers[0].W

    network.forward(X, training=True)
    network.forward(X, training=True)

    running = network.running_stats[0]
    assert running is not None
    # From (mean 0, var 1): after two identical batches, 0.19 of the batch value and 0.81 of the start.
    np.testing.assert_allclose(running[0], 0.19 * Z.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(running[1], 0.81 + 0.19 * Z.var(axis=0), rtol=1e-10)


def test_evaluation_normalises_with_the_running_mean_and_variance() -> None:
    network = make_network(3, [4], 2, batch_norm=True)
    running = network.running_stats[0]
    assert running is not None
    running[0] = [1.0, -1.0, 0.5, 0.0]
    running[1] = [4.0, 1.0, 0.25, 9.0]
    X, _, _ = random_problem(5, 3, 2, 2)

    ws = network.forward(X, training=False)

    layer = network.layers[0]
    expected = layer.gamma * (X @ layer.W - running[0]) / np.sqrt(running[1] + EPSILON) + layer.beta
    np.testing.assert_allclose(ws.hidden[0].Zt, expected, rtol=1e-12)


def test_training_mode_normalises_each_unit_to_beta_mean_and_gamma_scale() -> None:
    network = make_network(4, [5], 2, batch_norm=True)
    layer = network.layers[0]
    layer.gamma[:] = [1.0, 2.0, 0.5, 3.0, 1.5]
    layer.beta[:] = [0.0, 1.0, -1.0, 2.0, 0.5]
    X, _, _ = random_problem(64, 4, 2, 2)

    Zt = network.forward(X, training=True).hidden[0].Zt

    np.testing.assert_allclose(Zt.mean(axis=0), layer.beta, atol=1e-10)
    np.testing.assert_allclose(Zt.std(axis=0), layer.gamma, rtol=1e-3)
