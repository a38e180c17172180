"""Weight initialisation: W ~ N(0, σ²) per layer with σ set by the scheme, b = 0, γ = 1, β = 0."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from workers.nn.params import LayerParams


def init_std(scheme: str, n_in: int, n_out: int) -> float:
    """Standard deviation of W for a layer n_in → n_out.

    he: √(2/n_in) (for relu); xavier: √(1/n_in) (for tanh, as in deeplearning.ai); glorot: √(2/(n_in+n_out))
    (Glorot & Bengio's fan average).
    """
    if scheme == "he":
        return math.sqrt(2.0 / n_in)
    if scheme == "xavier":
        return math.sqrt(1.0 / n_in)
    if scheme == "glorot":
        return math.sqrt(2.0 / (n_in + n_out))
    raise ValueError(f"unknown init scheme {scheme!r}; use he, xavier or glorot")


def initialize(layers: Sequence[LayerParams], scheme: str, scale: float, rng: np.random.Generator) -> None:
    """Fill the parameter views in place: W ~ N(0, (scale·init_std)²), b = 0, γ = 1, β = 0."""
    for layer in layers:
        W = layer.W
        rng.standard_normal(dtype=W.dtype, out=W)
        W *= scale * init_std(scheme, *W.shape)
        for vector, value in ((layer.b, 0.0), (layer.gamma, 1.0), (layer.beta, 0.0)):
            if vector is not None:
                vector.fill(value)
