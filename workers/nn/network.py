"""A fully connected network: forward, cost and backward over a flat parameter buffer.

Layout is one example per row: X is (m, n_x), layer l computes Z = A_prev W + b with W (n_in, n_out), then
optional batch norm, the activation g, and optional inverted dropout; the output layer is softmax (C units)
or sigmoid (1 unit). The cost is the mean cross-entropy plus (λ / 2m) Σ ||W||²_F.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workers.nn.activations import ACTIVATION_FNS
from workers.nn.batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_inference, update_running
from workers.nn.dropout import dropout_backward, dropout_forward, dropout_mask
from workers.nn.losses import OUTPUT_LOSSES
from workers.nn.params import LayerParams, ParamLayout
from workers.nn.workspace import Workspace, allocate

MAX_CACHED_WORKSPACES = 8
EVAL_CHUNK_ROWS = 4096
"""Evaluation runs over at most this many rows at a time, so its buffers stay small for any dataset."""


class Network:
    """Parameters, gradients and running statistics of an MLP, each a flat buffer seen through layer views."""

    def __init__(
        self,
        layout: ParamLayout,
        activation: str,
        output: str,
        keep_probs: Sequence[float] = (),
        l2: float = 0.0,
        bn_momentum: float = 0.9,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        n_hidden = layout.n_weight_layers - 1
        self.layout = layout
        self.dtype = np.dtype(dtype)
        self.activation = ACTIVATION_FNS[activation]
        self.output = output
        self.output_loss = OUTPUT_LOSSES[output]
        self.keep_probs = tuple(keep_probs) if keep_probs else (1.0,) * n_hidden
        if len(self.keep_probs) != n_hidden:
            raise ValueError(
                f"keep_probs needs one entry per hidden layer ({n_hidden}), got {self.keep_probs}"
            )
        self.l2 = l2
        self.bn_momentum = bn_momentum
        self.params = np.zeros(layout.size, dtype=self.dtype)
        self.grads = np.zeros(layout.size, dtype=self.dtype)
        self.running = np.zeros(layout.running_size, dtype=self.dtype)
        self.layers: list[LayerParams] = layout.views(self.params)
        self.grad_layers: list[LayerParams] = layout.views(self.grads)
        self.running_stats = layout.running_views(self.running)
        for stats in self.running_stats:
            if stats is not None:
                stats[1] = 1.0
        self._weight_scratch = np.empty(layout.weights_size, dtype=self.dtype)
        self._workspaces: dict[int, Workspace] = {}

    def set_keep_probs(self, keep_probs: Sequence[float]) -> None:
        """Change dropout's keep probabilities (one per hidden layer); the workspaces, whose mask buffers
        depend on them, are allocated again on next use."""
        keep_probs = tuple(keep_probs)
        if keep_probs != self.keep_probs:
            self.keep_probs = keep_probs
            self._workspaces.clear()

    def workspace(self, m: int) -> Workspace:
        """The buffers for batches of m examples, allocated on first use."""
        ws = self._workspaces.get(m)
        if ws is None:
            if len(self._workspaces) >= MAX_CACHED_WORKSPACES:
                del self._workspaces[next(iter(self._workspaces))]
            ws = self._workspaces[m] = allocate(self.layout, self.keep_probs, m, self.dtype)
        return ws

    def forward(self, X: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> Workspace:
        """Forward pass on X (m, n_x); the logits (m, C) are left in `workspace.Z_out`.

        Training mode uses batch statistics (and updates the running ones) and dropout, drawing the masks
        from `rng`; evaluation mode uses the running statistics and no dropout.
        """
        ws = self.workspace(X.shape[0])
        ws.inputs = [X]
        A_prev = X
        for index, buf in enumerate(ws.hidden):
            layer = self.layers[index]
            np.matmul(A_prev, layer.W, out=buf.Z)
            pre_activation = buf.Z
            if layer.gamma is not None and layer.beta is not None:
                assert buf.Zt is not None and buf.stats is not None and buf.inv_std is not None
                running = self.running_stats[index]
                assert running is not None
                if training:
                    batchnorm_forward(buf.Z, layer.gamma, layer.beta, buf.Zt, buf.stats, buf.inv_std, ws.ones)
                    update_running(running, buf.stats, self.bn_momentum)
                else:
                    batchnorm_inference(buf.Z, layer.gamma, layer.beta, running, buf.Zt)
                pre_activation = buf.Zt
            else:
                buf.Z += layer.b
            self.activation.forward(pre_activation, buf.A, buf.scratch)
            A_prev = buf.A
            keep_prob = self.keep_probs[index]
            if training and keep_prob < 1.0:
                assert buf.keep is not None and buf.D is not None and rng is not None
                dropout_mask(rng, keep_prob, buf.keep)
                dropout_forward(buf.A, buf.keep, buf.D)
                A_prev = buf.D
            ws.inputs.append(A_prev)
        output = self.layers[-1]
        np.matmul(A_prev, output.W, out=ws.Z_out)
        ws.Z_out += output.b
        return ws

    def cost(self, ws: Workspace, T: np.ndarray) -> float:
        """Cost J of the forward just run against targets T (m, C); fills ws.P with the probabilities."""
        cost = self.output_loss(ws.Z_out, T, ws.P, ws.row) / ws.m
        if self.l2 > 0.0:
            weights = self.params[: self.layout.weights_size]
            cost += 0.5 * self.l2 / ws.m * float(np.dot(weights, weights))
        return cost

    def backward(self, ws: Workspace, T: np.ndarray) -> None:
        """Fill self.grads with ∂J/∂params after `forward(training=True)` and `cost` on the same batch."""
        grads = self.grad_layers
        dZ = ws.dZ_out
        np.subtract(ws.P, T, out=dZ)
        dZ *= 1.0 / ws.m
        np.matmul(ws.inputs[-1].T, dZ, out=grads[-1].W)
        np.matmul(ws.ones, dZ, out=grads[-1].b)
        for index in range(len(ws.hidden) - 1, -1, -1):
            buf, layer, grad = ws.hidden[index], self.layers[index], grads[index]
            np.matmul(dZ, self.layers[index + 1].W.T, out=buf.dA)
            if buf.keep is not None:
                dropout_backward(buf.dA, buf.keep)
            self.activation.backward(buf.dA, buf.A, buf.scratch)
            if layer.gamma is not None:
                assert grad.gamma is not None and grad.beta is not None and buf.inv_std is not None
                batchnorm_backward(
                    buf.dA, buf.Z, layer.gamma, buf.inv_std, grad.gamma, grad.beta, buf.scratch, ws.ones
                )
            else:
                np.matmul(ws.ones, buf.dA, out=grad.b)
            np.matmul(ws.inputs[index].T, buf.dA, out=grad.W)
            dZ = buf.dA
        if self.l2 > 0.0:
            size = self.layout.weights_size
            np.multiply(self.params[:size], self.l2 / ws.m, out=self._weight_scratch)
            self.grads[:size] += self._weight_scratch

    def cost_and_gradients(
        self, X: np.ndarray, T: np.ndarray, rng: np.random.Generator | None = None
    ) -> float:
        """One training-mode forward and backward on X (m, n_x), T (m, C): returns J, fills self.grads."""
        ws = self.forward(X, training=True, rng=rng)
        cost = self.cost(ws, T)
        self.backward(ws, T)
        return cost

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Evaluation-mode logits (m, C) for X (m, n_x): running statistics, no dropout."""
        logits = np.empty((X.shape[0], self.layout.sizes[-1]), dtype=self.dtype)
        for start in range(0, X.shape[0], EVAL_CHUNK_ROWS):
            stop = min(start + EVAL_CHUNK_ROWS, X.shape[0])
            logits[start:stop] = self.forward(X[start:stop], training=False).Z_out
        return logits

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the parameters and running statistics, for `restore`."""
        return self.params.copy(), self.running.copy()

    def copy_into(self, snapshot: tuple[np.ndarray, np.ndarray]) -> None:
        """Overwrite a `snapshot` with the current parameters and running statistics (no allocation)."""
        np.copyto(snapshot[0], self.params)
        np.copyto(snapshot[1], self.running)

    def restore(self, snapshot: tuple[np.ndarray, np.ndarray]) -> None:
        """Put back parameters and running statistics saved by `snapshot`."""
        np.copyto(self.params, snapshot[0])
        np.copyto(self.running, snapshot[1])
