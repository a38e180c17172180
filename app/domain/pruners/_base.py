"""What every pruner shares: the curves it reads and the verdict it gives."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class CurveRecord:
    """Another trial of the same search: its state and its learning curve (step -> metric value)."""

    state: str
    values: Mapping[int, float]


def value_at(curve: Mapping[int, float], step: int) -> float | None:
    """The curve's finite value at `step`, or None."""
    value = curve.get(step)
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def is_worse(value: float, reference: float, direction: Direction) -> bool:
    return value < reference if direction == "maximize" else value > reference


class Pruner(ABC):
    """Decides, after each reported step, whether a running trial should stop early."""

    @abstractmethod
    def should_prune(self, step: int, curve: Mapping[int, float], others: Sequence[CurveRecord]) -> bool:
        """`curve` is this trial's own curve including `step`; `others` are the search's other trials.

        Only the others' values at `step` are read, so callers may pass just those.
        """

    def judges_at(self, step: int) -> bool:
        """Whether `should_prune` can say yes at `step`; callers skip fetching peers' curves otherwise."""
        return True

    @abstractmethod
    def to_spec(self) -> dict[str, Any]:
        """The canonical pruner spec, defaults filled in."""


@dataclass(frozen=True)
class NoPruner(Pruner):
    """Never prunes."""

    def should_prune(self, step: int, curve: Mapping[int, float], others: Sequence[CurveRecord]) -> bool:
        return False

    def judges_at(self, step: int) -> bool:
        return False

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "none"}
