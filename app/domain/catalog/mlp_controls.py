"""The `mlp` objective's live controls: the hyperparameters a running trial may change between epochs.

Which ones depend on the trial's own config: the optimizer's (β for momentum, β₂ for RMSprop, β₁ and β₂ for
Adam), `decay_rate` only with a decay schedule; `learning_rate`, `l2` and `keep_prob` always. A nudged
`learning_rate` replaces the schedule's base α: epoch e then trains at schedule(new α, e), exactly as a run
configured with it from the start would (with `lr_decay` none, that is the new rate itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from app.domain.catalog.mlp_config import TrainConfig
from app.domain.catalog.mlp_params import validate_params
from caviar import InvalidParams

ALWAYS_LIVE: tuple[str, ...] = ("learning_rate", "l2", "keep_prob")
OPTIMIZER_CONTROLS: dict[str, tuple[str, ...]] = {
    "gd": (),
    "momentum": ("beta",),
    "rmsprop": ("beta2",),
    "adam": ("beta1", "beta2"),
}


def live_controls(config: TrainConfig) -> tuple[str, ...]:
    """Names of the hyperparameters a run of `config` can change between epochs."""
    decay = ("decay_rate",) if config.lr_decay != "none" else ()
    return ALWAYS_LIVE + OPTIMIZER_CONTROLS[config.optimizer] + decay


def nudged_config(config: TrainConfig, controls: Mapping[str, Any]) -> TrainConfig:
    """`config` with `controls` changed; raises InvalidParams naming the first control that is not live for
    this config, has the wrong type or is out of range (TrainConfig's own checks)."""
    if not controls:
        raise InvalidParams("controls", "name at least one hyperparameter to change")
    live = live_controls(config)
    for name in controls:
        if name not in live:
            raise InvalidParams(
                name, f"is not live-adjustable in this trial; its live hyperparameters are {', '.join(live)}"
            )
    return replace(config, **controls)  # TrainConfig checks each value's type and range


def validate_controls(params: Mapping[str, Any], controls: Mapping[str, Any]) -> None:
    """Raise InvalidParams unless `controls` may be applied to a running trial of `params` (see
    `nudged_config`)."""
    nudged_config(validate_params(params), controls)
