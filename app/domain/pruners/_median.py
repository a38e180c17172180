"""The median stopping rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.domain.pruners._base import CurveRecord, Direction, Pruner, is_worse, value_at


@dataclass(frozen=True)
class MedianPruner(Pruner):
    """Stop a trial whose value at step s is worse than the median of completed trials' values at s.

    Nothing is pruned at or before step `warmup_steps` (early epochs are noisy), nor while fewer than
    `min_trials` completed trials have a value at s.
    """

    direction: Direction
    warmup_steps: int = 1
    min_trials: int = 5

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(f"`direction` must be minimize or maximize, got {self.direction!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"`warmup_steps >= 0` must hold, got warmup_steps={self.warmup_steps}")
        if self.min_trials < 1:
            raise ValueError(f"`min_trials >= 1` must hold, got min_trials={self.min_trials}")

    def judges_at(self, step: int) -> bool:
        return step > self.warmup_steps

    def should_prune(self, step: int, curve: Mapping[int, float], others: Sequence[CurveRecord]) -> bool:
        if not self.judges_at(step):
            return False
        value = value_at(curve, step)
        if value is None:
            return False
        peers = [
            v
            for other in others
            if other.state == "completed" and (v := value_at(other.values, step)) is not None
        ]
        if len(peers) < self.min_trials:
            return False
        return is_worse(value, float(np.median(peers)), self.direction)

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "median", "warmup_steps": self.warmup_steps, "min_trials": self.min_trials}
