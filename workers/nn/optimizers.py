"""Optimizer steps over the whole flat parameter buffer: gradient descent, momentum, RMSprop, Adam.

Each step is a function of (params, grads, state, hyperparameters) with no hidden state: it updates
`params` and the moment buffers in `state` in place, so a step costs a handful of vector operations on
buffers of length P (the number of parameters) and allocates nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Step = Callable[[np.ndarray, np.ndarray, float], None]


@dataclass
class OptimizerState:
    """Moment estimates (P,) and a scratch buffer (P,); `step` counts updates done (t in Adam)."""

    first_moment: np.ndarray
    second_moment: np.ndarray
    scratch: np.ndarray
    step: int = 0

    @classmethod
    def zeros(cls, size: int, dtype: np.dtype | type = np.float32) -> OptimizerState:
        """Zero moments for P = size parameters."""
        return cls(np.zeros(size, dtype), np.zeros(size, dtype), np.zeros(size, dtype))


def gd_step(params: np.ndarray, grads: np.ndarray, state: OptimizerState, lr: float) -> None:
    """θ ← θ - α g."""
    np.multiply(grads, lr, out=state.scratch)
    params -= state.scratch
    state.step += 1


def momentum_step(
    params: np.ndarray, grads: np.ndarray, state: OptimizerState, lr: float, beta: float
) -> None:
    """v ← β v + (1 - β) g; θ ← θ - α v."""
    v, scratch = state.first_moment, state.scratch
    _ewa(v, grads, beta, scratch)
    np.multiply(v, lr, out=scratch)
    params -= scratch
    state.step += 1


def rmsprop_step(
    params: np.ndarray, grads: np.ndarray, state: OptimizerState, lr: float, beta2: float, epsilon: float
) -> None:
    """s ← β₂ s + (1 - β₂) g²; θ ← θ - α g / (√s + ε)."""
    s, scratch = state.second_moment, state.scratch
    _ewa_of_square(s, grads, beta2, scratch)
    np.sqrt(s, out=scratch)
    scratch += epsilon
    np.divide(grads, scratch, out=scratch)
    scratch *= lr
    params -= scratch
    state.step += 1


def adam_step(
    params: np.ndarray,
    grads: np.ndarray,
    state: OptimizerState,
    lr: float,
    beta1: float,
    beta2: float,
    epsilon: float,
) -> None:
    """Adam with bias correction, t = state.step + 1:

    v ← β₁ v + (1 - β₁) g;  s ← β₂ s + (1 - β₂) g²;  v̂ = v / (1 - β₁ᵗ);  ŝ = s / (1 - β₂ᵗ);
    θ ← θ - α v̂ / (√ŝ + ε), computed as θ - α' v / (√s + ε') with α' = α √(1 - β₂ᵗ) / (1 - β₁ᵗ) and
    ε' = ε √(1 - β₂ᵗ), the same quantity with two fewer passes over the buffers.
    """
    v, s, scratch = state.first_moment, state.second_moment, state.scratch
    t = state.step + 1
    _ewa(v, grads, beta1, scratch)
    _ewa_of_square(s, grads, beta2, scratch)
    root_correction2 = math.sqrt(1.0 - beta2**t)
    np.sqrt(s, out=scratch)
    scratch += epsilon * root_correction2
    np.divide(v, scratch, out=scratch)
    scratch *= lr * root_correction2 / (1.0 - beta1**t)
    params -= scratch
    state.step = t


def _ewa(average: np.ndarray, values: np.ndarray, beta: float, scratch: np.ndarray) -> None:
    """average ← β average + (1 - β) values, in place."""
    np.multiply(values, 1.0 - beta, out=scratch)
    average *= beta
    average += scratch


def _ewa_of_square(average: np.ndarray, values: np.ndarray, beta: float, scratch: np.ndarray) -> None:
    """average ← β average + (1 - β) values², in place."""
    np.multiply(values, values, out=scratch)
    scratch *= 1.0 - beta
    average *= beta
    average += scratch


def make_step(
    name: str, state: OptimizerState, beta: float, beta1: float, beta2: float, epsilon: float
) -> Step:
    """The step `(params, grads, lr) -> None` of the named optimizer, bound to its state and settings."""

    def gd(params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        gd_step(params, grads, state, lr)

    def momentum(params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        momentum_step(params, grads, state, lr, beta)

    def rmsprop(params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        rmsprop_step(params, grads, state, lr, beta2, epsilon)

    def adam(params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        adam_step(params, grads, state, lr, beta1, beta2, epsilon)

    steps: dict[str, Step] = {"gd": gd, "momentum": momentum, "rmsprop": rmsprop, "adam": adam}
    if name not in steps:
        raise ValueError(f"unknown optimizer {name!r}; use gd, momentum, rmsprop or adam")
    return steps[name]
