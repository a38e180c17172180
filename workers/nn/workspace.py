"""Preallocated activation and gradient buffers for one mini-batch size, reused by every step of that size."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workers.nn.params import ParamLayout


@dataclass
class HiddenBuffers:
    """One hidden layer's buffers, all (m, n) unless noted.

    Z: pre-activations (with batch norm it holds Ẑ after the forward); Zt: γẐ + β (batch norm only);
    A: activations; scratch: g'(Z) or scratch for the backward; keep: scaled dropout mask and D: A · keep
    (dropout only); dA: ∂J/∂A, turned into ∂J/∂Z in place by the backward; stats (2, n) and inv_std (n,):
    batch statistics (batch norm only).
    """

    Z: np.ndarray
    A: np.ndarray
    scratch: np.ndarray
    dA: np.ndarray
    Zt: np.ndarray | None = None
    keep: np.ndarray | None = None
    D: np.ndarray | None = None
    stats: np.ndarray | None = None
    inv_std: np.ndarray | None = None


@dataclass
class Workspace:
    """All buffers of a forward and backward pass on m examples.

    ones (m,); Z_out, P, dZ_out (m, C): output logits, probabilities and ∂J/∂Z; row (m, 1) scratch;
    inputs: each weight layer's input, set by the forward (X, then each hidden layer's A or D).
    """

    m: int
    ones: np.ndarray
    hidden: list[HiddenBuffers]
    Z_out: np.ndarray
    P: np.ndarray
    dZ_out: np.ndarray
    row: np.ndarray
    inputs: list[np.ndarray] = field(default_factory=list)


def workspace_bytes(layout: ParamLayout, keep_probs: tuple[float, ...], m: int, itemsize: int) -> int:
    """Bytes `allocate` would take for batches of m examples."""
    total = m * (1 + 4 * layout.sizes[-1])
    for layer, n in enumerate(layout.sizes[1:-1]):
        per_unit = 4 + (1 if layout.has_batch_norm(layer) else 0) + (2 if keep_probs[layer] < 1.0 else 0)
        total += per_unit * m * n + 3 * n
    return total * itemsize


def allocate(layout: ParamLayout, keep_probs: tuple[float, ...], m: int, dtype: np.dtype) -> Workspace:
    """Buffers for a network of this layout on batches of m examples."""

    def empty(*shape: int) -> np.ndarray:
        return np.empty(shape, dtype=dtype)

    hidden = []
    for layer, n in enumerate(layout.sizes[1:-1]):
        buffers = HiddenBuffers(Z=empty(m, n), A=empty(m, n), scratch=empty(m, n), dA=empty(m, n))
        if layout.has_batch_norm(layer):
            buffers.Zt, buffers.stats, buffers.inv_std = empty(m, n), empty(2, n), empty(n)
        if keep_probs[layer] < 1.0:
            buffers.keep, buffers.D = empty(m, n), empty(m, n)
        hidden.append(buffers)
    n_out = layout.sizes[-1]
    return Workspace(
        m=m,
        ones=np.ones(m, dtype=dtype),
        hidden=hidden,
        Z_out=empty(m, n_out),
        P=empty(m, n_out),
        dZ_out=empty(m, n_out),
        row=empty(m, 1),
    )
