"""Batch normalisation of a hidden layer's pre-activations Z (m, n), before the activation.

Training: Ẑ = (Z - μ_B) / √(σ²_B + ε), output γẐ + β, with μ_B, σ²_B the mini-batch mean and (biased)
variance per unit. The running mean and variance follow an exponentially weighted average,
running ← momentum · running + (1 - momentum) · batch, and replace the batch statistics at evaluation,
so an example's output does not depend on the rest of its batch. Column sums are `ones @ Z` (a BLAS gemv,
faster than `Z.sum(axis=0)` for these shapes).
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-5


def batchnorm_forward(
    Z: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    out: np.ndarray,
    stats: np.ndarray,
    inv_std: np.ndarray,
    ones: np.ndarray,
) -> None:
    """Training-mode forward with batch statistics.

    Z (m, n) is overwritten with Ẑ, kept for the backward; out (m, n) = γẐ + β; stats (2, n) receives
    [μ_B; σ²_B]; inv_std (n,) receives 1/√(σ²_B + ε); ones is (m,) of ones.
    """
    inv_m = 1.0 / Z.shape[0]
    np.matmul(ones, Z, out=stats[0])
    stats[0] *= inv_m
    Z -= stats[0]
    np.multiply(Z, Z, out=out)
    np.matmul(ones, out, out=stats[1])
    stats[1] *= inv_m
    np.add(stats[1], EPSILON, out=inv_std)
    np.sqrt(inv_std, out=inv_std)
    np.reciprocal(inv_std, out=inv_std)
    Z *= inv_std
    np.multiply(Z, gamma, out=out)
    out += beta


def update_running(running: np.ndarray, stats: np.ndarray, momentum: float) -> None:
    """running (2, n) ← momentum · running + (1 - momentum) · stats, stats (2, n) = [μ_B; σ²_B]."""
    running *= momentum
    running += (1.0 - momentum) * stats


def batchnorm_inference(
    Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running: np.ndarray, out: np.ndarray
) -> None:
    """Evaluation-mode forward: out (m, n) = γ (Z - running mean) / √(running var + ε) + β."""
    scale = gamma / np.sqrt(running[1] + EPSILON)
    np.multiply(Z, scale, out=out)
    out += beta - running[0] * scale


def batchnorm_backward(
    d_out: np.ndarray,
    Z_hat: np.ndarray,
    gamma: np.ndarray,
    inv_std: np.ndarray,
    d_gamma: np.ndarray,
    d_beta: np.ndarray,
    scratch: np.ndarray,
    ones: np.ndarray,
) -> None:
    """Backward through γẐ + β and the normalisation.

    d_out (m, n) = ∂J/∂(γẐ + β) is overwritten with ∂J/∂Z; d_gamma, d_beta (n,) receive ∂J/∂γ, ∂J/∂β.
    Uses ∂J/∂Z = γ/σ · (d_out - mean(d_out) - Ẑ · mean(d_out · Ẑ)), where mean(d_out) = ∂J/∂β / m and
    mean(d_out · Ẑ) = ∂J/∂γ / m.
    """
    inv_m = 1.0 / d_out.shape[0]
    np.matmul(ones, d_out, out=d_beta)
    np.multiply(d_out, Z_hat, out=scratch)
    np.matmul(ones, scratch, out=d_gamma)
    np.multiply(Z_hat, d_gamma * inv_m, out=scratch)
    d_out -= scratch
    d_out -= d_beta * inv_m
    d_out *= gamma * inv_std
