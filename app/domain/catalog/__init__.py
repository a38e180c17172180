"""The catalog of built-in objectives and datasets: names, parameters, metrics, dataset options.

What the API needs to check a spec, and what the workers' objectives and loaders implement. Both sides
import it from here, so the API never imports the trainer.
"""

from app.domain.catalog.datasets import (
    BUILTIN_DATASETS,
    BUNDLED_DATASETS,
    GENERATED_OPTIONS,
    Option,
    validate_dataset_options,
)
from app.domain.catalog.mlp_config import TrainConfig
from app.domain.catalog.mlp_params import MLP_CURVE_METRICS, MLP_METRICS, MLP_PARAMETERS
from app.domain.catalog.objectives import BUILTIN_OBJECTIVES, ObjectiveInfo, builtin_objective_info

__all__ = [
    "BUILTIN_DATASETS",
    "BUILTIN_OBJECTIVES",
    "BUNDLED_DATASETS",
    "GENERATED_OPTIONS",
    "MLP_CURVE_METRICS",
    "MLP_METRICS",
    "MLP_PARAMETERS",
    "ObjectiveInfo",
    "Option",
    "TrainConfig",
    "builtin_objective_info",
    "validate_dataset_options",
]
