"""Optimizer steps: each one descends a convex cost, and each update matches its formula by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.nn.helpers import make_network, random_problem
from workers.nn.optimizers import OptimizerState, adam_step, make_step, momentum_step, rmsprop_step

LEARNING_RATES = {"gd": 0.5, "momentum": 0.5, "rmsprop": 0.01, "adam": 0.01}


def logistic_regression() -> tuple[object, np.ndarray, np.ndarray]:
    """A network with no hidden layer and a sigmoid output (a convex cost) on a noisy linear problem."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 5))
    y = (X @ np.array([1.5, -2.0, 0.5, 0.0, 1.0]) + 0.5 * rng.standard_normal(200) > 0).astype(np.int64)
    network = make_network(5, [], 2, output="sigmoid", seed=4)
    return network, X, y.reshape(-1, 1).astype(np.float64)


@pytest.mark.parametrize("name", ["gd", "momentum", "rmsprop", "adam"])
def test_each_optimizer_reduces_the_logistic_regression_cost(name: str) -> None:
    network, X, T = logistic_regression()
    step = make_step(name, OptimizerState.zeros(network.params.size, np.float64), 0.9, 0.9, 0.999, 1e-8)
    initial = network.cost_and_gradients(X, T)

    costs = []
    for _ in range(100):
        costs.append(network.cost_and_gradients(X, T))
        step(network.params, network.grads, LEARNING_RATES[name])

    assert costs[-1] < 0.5 * initial
    assert costs[-1] < min(costs[:50])


def test_momentum_velocity_is_an_exponentially_weighted_average_of_gradients() -> None:
    params, state = np.zeros(2), OptimizerState.zeros(2, np.float64)
    g1, g2 = np.array([1.0, -2.0]), np.array([3.0, 0.5])

    momentum_step(params, g1, state, lr=0.1, beta=0.9)
    momentum_step(params, g2, state, lr=0.1, beta=0.9)

    v1 = 0.1 * g1
    v2 = 0.9 * v1 + 0.1 * g2
    np.testing.assert_allclose(state.first_moment, v2, rtol=1e-12)
    np.testing.assert_allclose(params, -0.1 * v1 - 0.1 * v2, rtol=1e-12)


def test_rmsprop_divides_the_gradient_by_the_root_mean_square() -> None:
    params, state = np.ones(2), OptimizerState.zeros(2, np.float64)
    g = np.array([0.5, -4.0])

    rmsprop_step(params, g, state, lr=0.01, beta2=0.99, epsilon=1e-8)

    s = 0.01 * g**2
    np.testing.assert_allclose(params, 1.0 - 0.01 * g / (np.sqrt(s) + 1e-8), rtol=1e-12)


def test_adam_bias_corrected_moments_match_a_hand_computation() -> None:
    beta1, beta2, epsilon, lr = 0.9, 0.999, 1e-8, 0.01
    gradients = [np.array([0.1, -0.2, 3.0]), np.array([0.3, 0.1, -1.0]), np.array([-0.2, 0.05, 2.0])]
    params, state = np.array([1.0, 2.0, -1.0]), OptimizerState.zeros(3, np.float64)
    expected = params.copy()
    v = np.zeros(3)
    s = np.zeros(3)

    for t, g in enumerate(gradients, start=1):
        adam_step(params, g, state, lr, beta1, beta2, epsilon)
        v = beta1 * v + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g * g
        v_hat = v / (1 - beta1**t)
        s_hat = s / (1 - beta2**t)
        expected -= lr * v_hat / (np.sqrt(s_hat) + epsilon)

        np.testing.assert_allclose(state.first_moment, v, rtol=1e-12)
        np.testing.assert_allclose(state.second_moment, s, rtol=1e-12)
        np.testing.assert_allclose(params, expected, rtol=1e-12)
        assert state.step == t


def test_adam_first_step_moves_each_parameter_by_about_the_learning_rate() -> None:
    params, state = np.zeros(3), OptimizerState.zeros(3, np.float64)

    adam_step(params, np.array([1e-3, -5.0, 100.0]), state, 0.01, 0.9, 0.999, 1e-8)

    # v̂₁ = g and ŝ₁ = g², so the first step is lr · sign(g) whatever the gradient's scale.
    np.testing.assert_allclose(params, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_steps_update_every_layer_of_the_flat_buffer_in_one_call() -> None:
    network = make_network(4, [3, 3], 3, batch_norm=True)
    X, _, T = random_problem(8, 4, 3, 3)
    before = network.params.copy()
    network.cost_and_gradients(X, T)

    make_step("adam", OptimizerState.zeros(network.params.size, np.float64), 0.9, 0.9, 0.999, 1e-8)(
        network.params, network.grads, 0.01
    )

    changed = network.params != before
    for layer, old in zip(network.layers, network.layout.views(before), strict=True):
        assert not np.array_equal(layer.W, old.W)
    assert changed.mean() > 0.9


def test_unknown_optimizer_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_step("sgdw", OptimizerState.zeros(1), 0.9, 0.9, 0.999, 1e-8)
