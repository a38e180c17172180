"""The flat parameter buffer: every W, b, γ, β of a network lives in one 1-D array, seen per layer as views.

One buffer means an optimizer step is a handful of vector operations over all parameters, a snapshot for
early stopping is one copy, and a gradient check perturbs entry i of one array. All weight matrices come
first, so the L2 penalty and its gradient are one operation on `buffer[:weights_size]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerParams:
    """Views of one layer's parameters in a flat buffer. W is (n_in, n_out); b, gamma, beta are (n_out,).

    A hidden layer with batch norm has gamma and beta and no b (β plays the bias); other layers have b.
    """

    W: np.ndarray
    b: np.ndarray | None
    gamma: np.ndarray | None
    beta: np.ndarray | None


@dataclass(frozen=True)
class ParamLayout:
    """Where each layer's parameters sit in the flat buffer.

    `sizes` is (n_x, n_1, ..., n_L): input features, hidden units per layer, output units. Batch norm, when
    on, applies to the hidden layers 1..L-1, never to the output layer.
    """

    sizes: tuple[int, ...]
    batch_norm: bool

    @property
    def n_weight_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def weights_size(self) -> int:
        """Number of entries of all W matrices, stored first in the buffer."""
        return sum(n_in * n_out for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def size(self) -> int:
        """Length of the flat buffer."""
        vectors = sum(
            self._vector_count(layer) * self.sizes[layer + 1] for layer in range(self.n_weight_layers)
        )
        return self.weights_size + vectors

    @property
    def running_size(self) -> int:
        """Length of the running-statistics buffer: a mean and a variance per batch-norm unit."""
        return 2 * sum(self.sizes[1:-1]) if self.batch_norm else 0

    def has_batch_norm(self, layer: int) -> bool:
        """Whether weight layer `layer` (0-based) is a hidden layer with batch norm."""
        return self.batch_norm and layer < self.n_weight_layers - 1

    def views(self, buffer: np.ndarray) -> list[LayerParams]:
        """Per-layer views of `buffer` (length `size`); writing a view writes the buffer."""
        if buffer.shape != (self.size,):
            raise ValueError(f"buffer must have shape ({self.size},), got {buffer.shape}")
        layers = []
        weight_offset, vector_offset = 0, self.weights_size
        for layer in range(self.n_weight_layers):
            n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
            W = buffer[weight_offset : weight_offset + n_in * n_out].reshape(n_in, n_out)
            weight_offset += n_in * n_out
            vectors: list[np.ndarray] = []
            for _ in range(self._vector_count(layer)):
                vectors.append(buffer[vector_offset : vector_offset + n_out])
                vector_offset += n_out
            if self.has_batch_norm(layer):
                layers.append(LayerParams(W=W, b=None, gamma=vectors[0], beta=vectors[1]))
            else:
                layers.append(LayerParams(W=W, b=vectors[0], gamma=None, beta=None))
        return layers

    def running_views(self, buffer: np.ndarray) -> list[np.ndarray | None]:
        """Per-layer (2, n_out) views [running mean; running variance] of the running-statistics buffer."""
        views: list[np.ndarray | None] = []
        offset = 0
        for layer in range(self.n_weight_layers):
            if self.has_batch_norm(layer):
                n_out = self.sizes[layer + 1]
                views.append(buffer[offset : offset + 2 * n_out].reshape(2, n_out))
                offset += 2 * n_out
            else:
                views.append(None)
        return views

    def _vector_count(self, layer: int) -> int:
        return 2 if self.has_batch_norm(layer) else 1


def layout_for(n_features: int, hidden_units: Sequence[int], n_outputs: int, batch_norm: bool) -> ParamLayout:
    """The layout of a network n_features → hidden_units... → n_outputs."""
    return ParamLayout(sizes=(n_features, *hidden_units, n_outputs), batch_norm=batch_norm)
