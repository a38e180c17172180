"""The NumPy trainer: a fully connected network, its optimizers and the training loop.

Modules follow the math: `activations`, `init`, `params` (the flat parameter buffer), `network` (forward,
cost, backward), `batchnorm`, `dropout`, `losses`, `optimizers`, `schedules`, `data`, `metrics`, `train`.
"""

from app.domain.catalog.mlp_config import PARAMETER_NAMES, TrainConfig
from workers.nn.network import Network
from workers.nn.threads import limit_blas_threads
from workers.nn.train import EpochMetrics, TrainResult, build_network, train

__all__ = [
    "PARAMETER_NAMES",
    "EpochMetrics",
    "Network",
    "TrainConfig",
    "TrainResult",
    "build_network",
    "limit_blas_threads",
    "train",
]
