"""Building a run's parts from its config: the output layer, the initialised network, the optimizer, and the
memory check that refuses a network too large before anything is allocated."""

from __future__ import annotations

import numpy as np

from app.domain.catalog.mlp_config import TrainConfig
from caviar import InvalidParams
from workers.nn.init import initialize
from workers.nn.network import EVAL_CHUNK_ROWS, Network
from workers.nn.optimizers import OptimizerState, Step, make_step
from workers.nn.params import layout_for
from workers.nn.workspace import workspace_bytes

MAX_TRAINING_BYTES = 2**30
PARAMETER_COPIES = 7
"""Parameter-sized buffers: params, gradients, two moments, optimizer scratch, L2 scratch, best snapshot."""


def output_units(config: TrainConfig, n_classes: int) -> tuple[str, int]:
    """The output layer: ("sigmoid", 1) for two classes unless softmax is asked, else ("softmax", C)."""
    if n_classes < 2:
        raise InvalidParams("dataset", f"needs at least 2 classes, got {n_classes}")
    output = config.output
    if output == "auto":
        output = "sigmoid" if n_classes == 2 else "softmax"
    if output == "sigmoid":
        if n_classes != 2:
            raise InvalidParams("output", f"sigmoid needs a binary dataset, this one has {n_classes} classes")
        return "sigmoid", 1
    return "softmax", n_classes


def build_network(config: TrainConfig, n_features: int, n_classes: int, rng: np.random.Generator) -> Network:
    """An initialised network for this config, n_features inputs and n_classes classes."""
    output, n_outputs = output_units(config, n_classes)
    layout = layout_for(n_features, config.units, n_outputs, config.batch_norm)
    network = Network(
        layout,
        activation=config.activation,
        output=output,
        keep_probs=config.keep_probs,
        l2=config.l2,
        bn_momentum=config.bn_momentum,
        dtype=np.dtype(config.dtype),
    )
    initialize(network.layers, config.init, config.init_scale, rng)
    return network


def optimizer_for(config: TrainConfig, network: Network) -> tuple[OptimizerState, Step]:
    """Fresh moments for `network` and the configured optimizer's step `(params, grads, lr)` bound to them."""
    state = OptimizerState.zeros(network.params.size, network.dtype)
    return state, make_step(config.optimizer, state, config.beta, config.beta1, config.beta2, config.epsilon)


def optimizer_step(config: TrainConfig, network: Network) -> Step:
    """The configured optimizer's step `(params, grads, lr)`, with fresh moments for `network`."""
    return optimizer_for(config, network)[1]


def check_memory(config: TrainConfig, n_features: int, n_classes: int, m_train: int) -> None:
    """Refuse a configuration whose buffers would exceed MAX_TRAINING_BYTES, before allocating any."""
    layout = layout_for(n_features, config.units, output_units(config, n_classes)[1], config.batch_norm)
    itemsize = np.dtype(config.dtype).itemsize
    batch = min(config.batch_size, m_train) + 1
    needed = PARAMETER_COPIES * layout.size * itemsize
    needed += workspace_bytes(layout, config.keep_probs, batch, itemsize)
    needed += workspace_bytes(layout, (1.0,) * config.n_layers, min(EVAL_CHUNK_ROWS, m_train), itemsize)
    if needed > MAX_TRAINING_BYTES:
        raise InvalidParams(
            "hidden_units",
            f"this network needs about {needed / 2**30:.1f} GiB, the limit is "
            f"{MAX_TRAINING_BYTES / 2**30:.0f} GiB; use fewer or narrower layers or a smaller batch_size",
        )
