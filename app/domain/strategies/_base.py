"""What every strategy shares: the trial records it reads, the proposals it makes, warm-start configs."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from app.domain.space import SearchSpace

Direction = Literal["minimize", "maximize"]
FINISHED_STATES = frozenset({"completed", "failed", "pruned", "cancelled"})


@dataclass(frozen=True)
class TrialRecord:
    """A trial as a strategy sees it; `value` is the raw final metric, None unless completed."""

    number: int
    params: Mapping[str, Any]
    state: str
    value: float | None
    round: int | None = None

    @property
    def has_result(self) -> bool:
        return self.state == "completed" and self.value is not None and math.isfinite(self.value)


@dataclass(frozen=True)
class Proposal:
    params: dict[str, Any]
    round: int | None = None


def best_trials(history: Sequence[TrialRecord], k: int, direction: Direction) -> list[TrialRecord]:
    """The k best completed trials, best first; ties keep the earlier trial first."""
    done = [trial for trial in history if trial.has_result]
    sign = -1.0 if direction == "maximize" else 1.0
    done.sort(key=lambda trial: (sign * float(trial.value or 0.0), trial.number))
    return done[:k]


class Strategy(ABC):
    """Chooses the next configurations from the results so far; all of its choices happen in unit space.

    A strategy holds no mutable state: what it must remember between calls (e.g. coarse-to-fine's
    zoom boxes) goes into the JSON state that `propose` returns and the caller stores. Randomness is
    derived from the seed and the trial number, so proposals never depend on timing.
    """

    kind: ClassVar[str]

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int,
        direction: Direction,
        max_trials: int,
        initial_configs: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.space = space
        self.seed = seed
        self.direction = direction
        self.max_trials = max_trials
        self.initial_configs = tuple(dict(config) for config in initial_configs)

    def trial_rng(self, number: int, *salt: int) -> np.random.Generator:
        """The generator for trial `number`: the same spec, seed and number always draw the same numbers."""
        return np.random.default_rng([self.seed, *salt, number])

    def room(self, history: Sequence[TrialRecord], n: int) -> int:
        return max(0, min(n, self.max_trials - len(history)))

    @abstractmethod
    def propose(
        self, history: Sequence[TrialRecord], state: Mapping[str, Any], n: int
    ) -> tuple[list[Proposal], dict[str, Any]]:
        """Up to n proposals, numbered len(history), len(history) + 1, ... by the caller, and the new state.

        Fewer than n (even none) means "wait for results" unless `is_exhausted` says otherwise.
        """

    @abstractmethod
    def is_exhausted(self, history: Sequence[TrialRecord], state: Mapping[str, Any]) -> bool:
        """True when nothing more will ever be proposed."""

    @abstractmethod
    def describe(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON summary for people (e.g. coarse-to-fine rounds and their boxes)."""

    def options(self) -> dict[str, Any]:
        """The kind's own options with defaults filled in (for `to_spec`)."""
        return {}

    def to_spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **self.options(),
            "initial_configs": [dict(c) for c in self.initial_configs],
        }


class PointwiseStrategy(Strategy):
    """A strategy whose k-th sampled trial depends on k alone: warm-start configs first, then `point(k)`."""

    def propose(
        self, history: Sequence[TrialRecord], state: Mapping[str, Any], n: int
    ) -> tuple[list[Proposal], dict[str, Any]]:
        proposals: list[Proposal] = []
        for number in range(len(history), len(history) + self.room(history, n)):
            if number < len(self.initial_configs):
                proposals.append(Proposal(dict(self.initial_configs[number])))
                continue
            params = self.point(number - len(self.initial_configs), number)
            if params is None:
                break
            proposals.append(Proposal(params))
        return proposals, {"proposed": len(history) + len(proposals)}

    @abstractmethod
    def point(self, index: int, number: int) -> dict[str, Any] | None:
        """Params of the `index`-th sampled trial (trial `number`), or None when there are no more."""

    def is_exhausted(self, history: Sequence[TrialRecord], state: Mapping[str, Any]) -> bool:
        return len(history) >= self.max_trials

    def describe(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"kind": self.kind, "proposed": int((state or {}).get("proposed", 0))}
