"""Asynchronous successive halving (ASHA, Li et al. 2020)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.pruners._base import CurveRecord, Direction, Pruner, is_worse, value_at


@dataclass(frozen=True)
class AshaPruner(Pruner):
    """At each rung r_k = min_resource * reduction_factor**k, keep only the top 1/reduction_factor.

    A trial reaching rung r_k is ranked against every other trial that has reached r_k so far, whatever
    its state; it continues if it is among the best ceil(n / reduction_factor) of those n trials (itself
    included). No rung sits at or beyond `max_resource` (the last step, when given): a trial that got
    that far finishes. Ranking against whoever has arrived, rather than waiting for a full rung, is
    what makes it asynchronous: early trials are judged leniently, later ones more strictly.
    """

    direction: Direction
    reduction_factor: int = 3
    min_resource: int = 1
    max_resource: int | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(f"`direction` must be minimize or maximize, got {self.direction!r}")
        if self.reduction_factor < 2:
            raise ValueError(
                f"`reduction_factor >= 2` must hold, got reduction_factor={self.reduction_factor}"
            )
        if self.min_resource < 1:
            raise ValueError(f"`min_resource >= 1` must hold, got min_resource={self.min_resource}")
        if self.max_resource is not None and self.max_resource <= self.min_resource:
            raise ValueError(
                "`max_resource > min_resource` must hold, "
                f"got max_resource={self.max_resource}, min_resource={self.min_resource}"
            )

    def is_rung(self, step: int) -> bool:
        if step < self.min_resource or (self.max_resource is not None and step >= self.max_resource):
            return False
        resource = self.min_resource
        while resource < step:
            resource *= self.reduction_factor
        return resource == step

    def judges_at(self, step: int) -> bool:
        return self.is_rung(step)

    def should_prune(self, step: int, curve: Mapping[int, float], others: Sequence[CurveRecord]) -> bool:
        if not self.judges_at(step):
            return False
        value = value_at(curve, step)
        if value is None:
            return False
        rivals = [v for other in others if (v := value_at(other.values, step)) is not None]
        kept = math.ceil((len(rivals) + 1) / self.reduction_factor)
        better = sum(1 for rival in rivals if is_worse(value, rival, self.direction))
        return better >= kept

    def to_spec(self) -> dict[str, Any]:
        return {
            "kind": "asha",
            "reduction_factor": self.reduction_factor,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
        }
