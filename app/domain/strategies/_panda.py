"""Panda: babysit one model (or a few) instead of searching: the course's other way to tune.

The strategy proposes `models` trials (warm-start configs first, then random draws, like `random`) and
nothing more: the tuning is the user's, who watches the curves (`caviar watch`, the dashboard), nudges the
live hyperparameters, pauses, stops, and branches from any epoch. Those branches run outside the budget of
trials; what bounds the search is its budget of epochs, each model's `epochs`. Its trials keep a
checkpoint after every epoch (whatever the worker's time floor between checkpoints), so any epoch can be
branched from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.strategies._simple import RandomStrategy

DEFAULT_MODELS = 1


class PandaStrategy(RandomStrategy):
    kind = "panda"

    def __init__(self, *args: Any, models: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models = models
        self.max_trials = min(self.max_trials, models)

    def options(self) -> dict[str, Any]:
        return {"models": self.models}

    def describe(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().describe(state), "models": self.models}
