"""The pieces under the model-based strategies: GP gradients, the feature map, log expected improvement."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime
from scipy.stats import norm

from app.domain.space import SearchSpace
from app.domain.strategies import TrialRecord
from app.domain.strategies._acquisition import log_expected_improvement
from app.domain.strategies._features import FeatureMap
from app.domain.strategies._gp import GaussianProcess, _negative_log_posterior, fit_hyperparameters
from app.domain.strategies._targets import model_targets
from tests.unit.domain.helpers import example_space

MIXED_SPACE = SearchSpace.from_spec(
    {
        "beta": {"type": "float", "low": 0.8, "high": 0.999, "scale": "log1m"},
        "batch": {"type": "int", "low": 16, "high": 512, "scale": "log"},
        "layers": {"type": "int", "low": 1, "high": 5},
        "rate": {"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"},
        "keep": {"type": "float", "low": 0.5, "high": 1.0},
        "booster": {"type": "categorical", "choices": ["gbtree", "dart", True]},
        "drop": {"type": "float", "low": 0.0, "high": 0.5, "when": {"booster": ["dart"]}},
    }
)


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 25), dimensions=st.integers(1, 6))
def test_gp_gradient_matches_finite_differences(seed: int, n: int, dimensions: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.random((n, dimensions))
    y = rng.standard_normal(n)
    vector = np.concatenate([rng.normal(0.0, 0.7, dimensions), [rng.normal(0, 0.5), rng.uniform(-8, -1)]])
    value, gradient = _negative_log_posterior(vector, x, y)
    numeric = approx_fprime(vector, lambda v: _negative_log_posterior(v, x, y)[0], 1e-6)
    assert np.allclose(gradient, numeric, rtol=1e-3, atol=1e-3 * max(1.0, abs(value)))


def test_gp_interpolates_a_smooth_function_and_is_unsure_far_from_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((30, 2))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2
    y = (y - y.mean()) / y.std()
    gp = GaussianProcess(x, y, fit_hyperparameters(x, y, None, 100))
    mean, std = gp.predict(x)
    assert np.max(np.abs(mean - y)) < 0.05
    _, far = gp.predict(np.array([[5.0, 5.0]]))
    assert far[0] > 10 * np.max(std)


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1))
def test_feature_map_reads_stored_params_like_the_space_does(seed: int) -> None:
    features = FeatureMap(MIXED_SPACE)
    rng = np.random.default_rng(seed)
    configs = [MIXED_SPACE.from_unit(rng.random(len(MIXED_SPACE.names))) for _ in range(20)]
    expected = np.array([MIXED_SPACE.to_unit(c) for c in configs])
    assert np.allclose(features.history_units(configs), expected, equal_nan=True)


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1))
def test_snapped_candidates_are_the_configurations_they_stand_for(seed: int) -> None:
    features = FeatureMap(MIXED_SPACE)
    units = np.random.default_rng(seed).random((20, len(MIXED_SPACE.names)))
    expected = np.array([MIXED_SPACE.to_unit(MIXED_SPACE.from_unit(row)) for row in units])
    assert np.allclose(features.snap(units), expected, equal_nan=True, atol=1e-12)


def test_features_one_hot_categoricals_and_give_inactive_parameters_a_constant() -> None:
    space = example_space()
    features = FeatureMap(space)
    adam = space.to_unit(
        {
            **space.fixed(),
            "optimizer": "adam",
            "beta2": 0.99,
            "learning_rate": 0.01,
            "beta1": 0.9,
            "hidden_units": 32,
            "n_layers": 2,
            "batch_norm": True,
        }
    )
    momentum = adam.copy()
    momentum[space.names.index("optimizer")] = 0.5 / 3
    momentum[space.names.index("beta2")] = np.nan
    encoded = features.features(np.vstack([adam, momentum]))
    optimizer = features.columns[space.names.index("optimizer")]
    assert encoded[0, optimizer].tolist() == [0.0, 0.0, 1.0]
    assert encoded[1, optimizer].tolist() == [1.0, 0.0, 0.0]
    assert encoded[1, features.columns[space.names.index("beta2")]].tolist() == [0.5]


@given(
    mean=st.floats(-50, 50),
    std=st.floats(1e-3, 10),
    best=st.floats(-50, 50),
)
def test_log_expected_improvement_matches_the_textbook_formula_where_that_is_finite(
    mean: float, std: float, best: float
) -> None:
    z = (best - mean) / std
    textbook = std * (norm.pdf(z) + z * norm.cdf(z))
    ours = float(log_expected_improvement(np.array([mean]), np.array([std]), best)[0])
    assert math.isfinite(ours)
    if textbook > 1e-250:
        assert math.isclose(ours, math.log(textbook), rel_tol=1e-6, abs_tol=1e-6)


def test_log_expected_improvement_keeps_ranking_deep_in_the_tail() -> None:
    values = log_expected_improvement(np.array([40.0, 60.0]), np.array([1.0, 1.0]), 0.0)
    assert np.all(np.isfinite(values)) and values[0] > values[1]


def test_targets_are_lower_is_better_and_failures_count_as_the_worst() -> None:
    trials = [
        TrialRecord(0, {}, "completed", 0.9),
        TrialRecord(1, {}, "completed", 0.5),
        TrialRecord(2, {}, "failed", None),
        TrialRecord(3, {}, "completed", 0.1),
    ]
    targets = model_targets(trials, "maximize")
    assert targets[0] < targets[1] < targets[3]
    assert targets[2] == targets[3]
    assert abs(float(np.mean(targets))) < 1e-9
