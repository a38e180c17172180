"""Backpropagation checked against two-sided numerical gradients, in float64 with dropout off."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.unit.nn.helpers import make_network, random_problem
from workers.nn.network import Network

EPSILON = 1e-7
MAX_RELATIVE_ERROR = 1e-7


def numerical_gradient(network: Network, X: np.ndarray, T: np.ndarray) -> np.ndarray:
    """(J(θ + εeᵢ) - J(θ - εeᵢ)) / 2ε for every entry i of the flat parameter buffer."""
    params = network.params
    gradient = np.empty_like(params)
    for i in range(params.size):
        original = params[i]
        params[i] = original + EPSILON
        cost_plus = network.cost(network.forward(X, training=True), T)
        params[i] = original - EPSILON
        cost_minus = network.cost(network.forward(X, training=True), T)
        params[i] = original
        gradient[i] = (cost_plus - cost_minus) / (2 * EPSILON)
    return gradient


def relative_error(numerical: np.ndarray, analytic: np.ndarray) -> float:
    return float(
        np.linalg.norm(numerical - analytic) / (np.linalg.norm(numerical) + np.linalg.norm(analytic))
    )


shapes = st.fixed_dictionaries(
    {
        "m": st.integers(2, 7),
        "n_features": st.integers(1, 5),
        "hidden": st.lists(st.integers(1, 6), min_size=1, max_size=3),
        "n_classes": st.integers(2, 4),
        "seed": st.integers(0, 2**16),
    }
)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
@pytest.mark.parametrize("batch_norm", [False, True], ids=["no_bn", "bn"])
@pytest.mark.parametrize("l2", [0.0, 0.7], ids=["no_l2", "l2"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
@settings(max_examples=6, deadline=None)
@given(shape=shapes)
def test_backward_matches_numerical_gradient(
    activation: str, l2: float, batch_norm: bool, output: str, shape: dict[str, object]
) -> None:
    # Batch norm over 2 or 3 examples is near-degenerate (each unit's normalised values are about ±1
    # whatever the input): gradients of hundreds, whose finite differences miss by more than 1e-7.
    assume(not batch_norm or shape["m"] >= 4)
    n_classes = 2 if output == "sigmoid" else shape["n_classes"]
    network = make_network(
        shape["n_features"],
        shape["hidden"],
        n_classes,
        activation=activation,
        output=output,
        batch_norm=batch_norm,
        l2=l2,
        seed=shape["seed"],
    )
    # Non-zero biases: with b = 0, a unit fed only by dead relus sits exactly on the kink at 0.
    vectors = network.params[network.layout.weights_size :]
    vectors += np.random.default_rng(shape["seed"]).uniform(0.1, 0.5, size=vectors.size)
    n_outputs = network.layout.sizes[-1]
    X, _, T = random_problem(shape["m"], shape["n_features"], n_classes, n_outputs, seed=shape["seed"] + 1)

    network.cost_and_gradients(X, T)
    analytic = network.grads.copy()

    assert relative_error(numerical_gradient(network, X, T), analytic) < MAX_RELATIVE_ERROR
