"""A Gaussian-process regressor for the model-based strategies: Matérn-5/2 ARD kernel, MAP hyperparameters.

Written here rather than taken from scikit-learn because the strategies need three things its
`GaussianProcessRegressor` does not give cheaply: a warm start from the previous fit (stored in the
search's strategy state, so a proposal costs a few optimizer steps, not a fresh multi-start fit), a
prior on the lengthscales that scales with the dimension (Hvarfner et al., "Vanilla Bayesian
optimization performs great in high dimensions", ICML 2024: LogNormal(√2 + ln(D)/2, √3)), and cheap
conditioning on extra "believed" points for pending trials without refitting.

Inputs are rows of features in [0, 1] (shape (n, D)); targets are standardised by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, cholesky, lapack, solve_triangular
from scipy.optimize import minimize

SQRT5 = math.sqrt(5.0)
LOG_LENGTHSCALE_BOUNDS = (math.log(1e-2), math.log(1e2))
LOG_SIGNAL_BOUNDS = (math.log(5e-2), math.log(20.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
NOISE_PRIOR = (math.log(1e-2), 1.5)
"""LogNormal prior on the noise variance of standardised targets: nearly noise-free unless the data insist."""
SIGNAL_PRIOR = (0.0, 1.0)
JITTER = 1e-8


@dataclass(frozen=True)
class Hyperparameters:
    """Log lengthscales (one per feature), log signal variance, log noise variance."""

    log_lengthscales: np.ndarray
    log_signal: float
    log_noise: float

    def to_vector(self) -> np.ndarray:
        return np.concatenate([self.log_lengthscales, [self.log_signal, self.log_noise]])

    @classmethod
    def from_vector(cls, vector: np.ndarray) -> Hyperparameters:
        return cls(np.array(vector[:-2], dtype=float), float(vector[-2]), float(vector[-1]))

    @classmethod
    def default(cls, dimensions: int) -> Hyperparameters:
        return cls(np.full(dimensions, _lengthscale_prior(dimensions)[0]), 0.0, NOISE_PRIOR[0])


def _lengthscale_prior(dimensions: int) -> tuple[float, float]:
    """Mean and standard deviation of log lengthscale (Hvarfner et al. 2024)."""
    return math.sqrt(2.0) + 0.5 * math.log(max(dimensions, 1)), math.sqrt(3.0)


def _scaled_sq_distances(a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    a_scaled, b_scaled = a / lengthscales, b / lengthscales
    squared = (
        np.sum(a_scaled**2, axis=1)[:, None]
        + np.sum(b_scaled**2, axis=1)[None, :]
        - 2 * a_scaled @ b_scaled.T
    )
    return np.asarray(np.maximum(squared, 0.0))


def matern52(a: np.ndarray, b: np.ndarray, hyper: Hyperparameters) -> np.ndarray:
    """k(a_i, b_j) without the noise term; shape (len(a), len(b))."""
    r = np.sqrt(_scaled_sq_distances(a, b, np.exp(hyper.log_lengthscales)))
    return np.asarray(
        float(np.exp(hyper.log_signal)) * (1 + SQRT5 * r + 5.0 / 3.0 * r**2) * np.exp(-SQRT5 * r)
    )


def _negative_log_posterior(vector: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """-(log marginal likelihood + log prior) and its gradient in the log hyperparameters."""
    hyper = Hyperparameters.from_vector(vector)
    n, dimensions = x.shape
    lengthscales = np.exp(hyper.log_lengthscales)
    signal, noise = math.exp(hyper.log_signal), math.exp(hyper.log_noise)
    r = np.sqrt(_scaled_sq_distances(x, x, lengthscales))
    decay = np.exp(-SQRT5 * r)
    kernel = signal * (1 + SQRT5 * r + 5.0 / 3.0 * r**2) * decay
    covariance = kernel + (noise + JITTER) * np.eye(n)
    try:
        factor = cholesky(covariance, lower=True)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(vector)
    alpha = cho_solve((factor, True), y)
    log_likelihood = (
        -0.5 * float(y @ alpha) - float(np.sum(np.log(np.diag(factor)))) - 0.5 * n * math.log(2 * math.pi)
    )
    inverse = _inverse_from_cholesky(factor)
    weights = np.outer(alpha, alpha) - inverse
    # d k / d log l_k = signal * 5/3 * (1 + sqrt5 r) exp(-sqrt5 r) * (x_ik - x_jk)^2 / l_k^2
    common = weights * (signal * 5.0 / 3.0 * (1 + SQRT5 * r) * decay)
    row_sums = common.sum(axis=1)
    gradient_lengthscales = (
        np.sum(row_sums[:, None] * x**2, axis=0) - np.sum(x * (common @ x), axis=0)
    ) / lengthscales**2
    gradient = np.concatenate(
        [
            gradient_lengthscales,
            [0.5 * float(np.sum(weights * kernel)), 0.5 * noise * float(np.trace(weights))],
        ]
    )
    prior_mean, prior_std = _lengthscale_prior(dimensions)
    log_prior = -0.5 * float(np.sum(((hyper.log_lengthscales - prior_mean) / prior_std) ** 2))
    log_prior -= 0.5 * ((hyper.log_noise - NOISE_PRIOR[0]) / NOISE_PRIOR[1]) ** 2
    log_prior -= 0.5 * ((hyper.log_signal - SIGNAL_PRIOR[0]) / SIGNAL_PRIOR[1]) ** 2
    gradient[:dimensions] -= (hyper.log_lengthscales - prior_mean) / prior_std**2
    gradient[-1] -= (hyper.log_noise - NOISE_PRIOR[0]) / NOISE_PRIOR[1] ** 2
    gradient[-2] -= (hyper.log_signal - SIGNAL_PRIOR[0]) / SIGNAL_PRIOR[1] ** 2
    return -(log_likelihood + log_prior), -gradient


def _inverse_from_cholesky(factor: np.ndarray) -> np.ndarray:
    """K⁻¹ from K's lower Cholesky factor (LAPACK potri: a third of the work of solving against I)."""
    lower_inverse, info = lapack.dpotri(factor, lower=True)
    if info != 0:
        return np.asarray(cho_solve((factor, True), np.eye(len(factor))))
    return np.asarray(np.tril(lower_inverse) + np.tril(lower_inverse, -1).T)


def fit_hyperparameters(
    x: np.ndarray, y: np.ndarray, start: Hyperparameters | None, max_iterations: int
) -> Hyperparameters:
    """MAP hyperparameters by L-BFGS-B from `start` (or a fresh start); deterministic.

    A fit that ends explaining most of the data as noise may sit in the "flat function, all noise"
    basin, which a warm start would never leave again: then the other start is tried too, and the
    better posterior kept.
    """
    dimensions = x.shape[1]
    fresh = _fresh_start(dimensions)
    first = _fit_from(start or fresh, x, y, max_iterations)
    if first[0].log_noise < math.log(NOISE_DOMINATED):
        return first[0]
    other = _fit_from(Hyperparameters.default(dimensions) if start is None else fresh, x, y, max_iterations)
    return min(first, other, key=lambda fit: fit[1])[0]


NOISE_DOMINATED = 0.25
"""A noise variance above a quarter of the (standardised) data's: the fit explains little."""


def _fresh_start(dimensions: int) -> Hyperparameters:
    """Lengthscales of half the typical distance between points of the cube, little noise."""
    return Hyperparameters(np.full(dimensions, math.log(0.5 * math.sqrt(dimensions))), 0.0, math.log(1e-3))


def _fit_from(
    start: Hyperparameters, x: np.ndarray, y: np.ndarray, max_iterations: int
) -> tuple[Hyperparameters, float]:
    dimensions = x.shape[1]
    bounds = [LOG_LENGTHSCALE_BOUNDS] * dimensions + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS]
    initial = np.clip(start.to_vector(), [b[0] for b in bounds], [b[1] for b in bounds])
    result = minimize(
        _negative_log_posterior,
        initial,
        args=(x, y),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iterations},
    )
    if np.all(np.isfinite(result.x)) and result.fun < 1e10:
        return Hyperparameters.from_vector(result.x), float(result.fun)
    return Hyperparameters.from_vector(initial), float(_negative_log_posterior(initial, x, y)[0])


class GaussianProcess:
    """The posterior of a zero-mean GP given (x, y) and fixed hyperparameters."""

    def __init__(self, x: np.ndarray, y: np.ndarray, hyper: Hyperparameters) -> None:
        self.x = x
        self.y = y
        self.hyper = hyper
        noise = math.exp(hyper.log_noise) + JITTER
        covariance = matern52(x, x, hyper) + noise * np.eye(len(x))
        self._factor = cholesky(covariance, lower=True)
        self._alpha = cho_solve((self._factor, True), y)

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function at `points` (shape (m, D))."""
        cross = matern52(points, self.x, self.hyper)
        mean = cross @ self._alpha
        solved = solve_triangular(self._factor, cross.T, lower=True)
        variance = math.exp(self.hyper.log_signal) - np.sum(solved**2, axis=0)
        return mean, np.sqrt(np.maximum(variance, 1e-12))

    def conditioned_on(self, points: np.ndarray, values: np.ndarray) -> GaussianProcess:
        """The same GP with extra observations (the values believed for pending trials)."""
        return GaussianProcess(np.vstack([self.x, points]), np.concatenate([self.y, values]), self.hyper)
