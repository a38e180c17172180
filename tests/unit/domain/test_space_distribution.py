"""Uniform unit coordinates give the distributions each scale promises (chi-square goodness of fit)."""

from __future__ import annotations

import numpy as np
from scipy.stats import chisquare

from app.domain.space import FloatParam, IntParam

SAMPLES = 10_000


def _uniforms(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(SAMPLES)


def test_log_scale_puts_a_quarter_of_samples_in_each_decade() -> None:
    param = FloatParam(1e-4, 1.0, "log")
    values = np.array([param.from_unit(u) for u in _uniforms(1)])
    counts, _ = np.histogram(np.log10(values), bins=[-4, -3, -2, -1, 0])
    assert chisquare(counts).pvalue > 0.001
    assert abs(counts[0] / SAMPLES - 0.25) < 0.03


def test_log1m_scale_puts_a_third_of_samples_in_each_decade_of_one_minus_beta() -> None:
    param = FloatParam(0.9, 0.9999, "log1m")
    values = np.array([param.from_unit(u) for u in _uniforms(2)])
    counts, _ = np.histogram(np.log10(1 - values), bins=[-4, -3, -2, -1])
    assert chisquare(counts).pvalue > 0.001
    assert counts.min() > 0.3 * SAMPLES


def test_linear_scale_would_starve_the_small_decades() -> None:
    param = FloatParam(1e-4, 1.0)
    values = np.array([param.from_unit(u) for u in _uniforms(3)])
    assert np.mean(values < 0.1) < 0.12


def test_int_log_scale_gives_each_integer_the_log_width_of_its_bucket() -> None:
    param = IntParam(1, 64, "log")
    values = np.array([param.from_unit(u) for u in _uniforms(4)])
    edges = np.log(np.arange(param.low, param.high + 1) + 0.5) - np.log(
        np.arange(param.low, param.high + 1) - 0.5
    )
    expected = edges / edges.sum() * SAMPLES
    observed = np.bincount(values - param.low, minlength=param.high - param.low + 1)
    assert chisquare(observed, expected).pvalue > 0.001
    assert np.mean(values <= 8) > 0.45  # half the log range lies below sqrt(0.5 * 64.5)


def test_int_linear_scale_is_uniform_over_the_integers() -> None:
    param = IntParam(1, 4)
    values = np.array([param.from_unit(u) for u in _uniforms(5)])
    assert chisquare(np.bincount(values)[1:]).pvalue > 0.001
