"""Population Based Training (Jaderberg et al., 2017), the automatic panda: a population trains in
parallel and, every `interval` epochs, a member in the bottom quantile stops and hands its place to a
branch of a member in the top quantile (exploit: its checkpoint at that epoch) whose live hyperparameters
are perturbed (explore). What survives to the last epoch has tuned a schedule, not one constant value.

This module decides; the service branches. The strategy proposes the initial population (warm-start
configs first, then random draws, like `random`); replacements are branches made during training, so
they are never proposed here. Decisions are asynchronous, as in Ray Tune's PBT: a member that reaches
epoch k is ranked against the members that reported epoch k before it, and never waits for the others.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.domain.space import SearchSpace
from app.domain.space._choice import CategoricalParam
from app.domain.space._numeric import FloatParam, IntParam
from app.domain.strategies._base import Direction, Proposal, Strategy, TrialRecord
from app.domain.strategies._box import Box

DEFAULT_POPULATION = 8
DEFAULT_INTERVAL = 4
DEFAULT_QUANTILE = 0.25
"""Ray Tune's default: the bottom quarter copies the top quarter."""
DEFAULT_RESAMPLE_PROBABILITY = 0.25
PERTURB_FACTORS = (0.8, 1.2)
"""A perturbed value is the donor's times one of these (Jaderberg et al. and Ray Tune use the same)."""
_EXPLOIT_SALT = 7919  # keeps the exploit draws apart from the sampling draws of the same trial number


@dataclass(frozen=True)
class PbtOptions:
    population: int
    interval: int
    quantile: float
    resample_probability: float

    def to_spec(self) -> dict[str, Any]:
        return {
            "population": self.population,
            "interval": self.interval,
            "quantile": self.quantile,
            "resample_probability": self.resample_probability,
        }


@dataclass(frozen=True)
class Peer:
    """A population member's value of the search's metric at the epoch being judged."""

    trial_id: int
    value: float | None


@dataclass(frozen=True)
class Exploit:
    """Stop the judged member; branch `donor_trial_id` at the judged epoch with `changes` to its params."""

    donor_trial_id: int
    changes: dict[str, Any]


def judged_at(step: int, options: PbtOptions, epochs: int) -> bool:
    """Whether a member is ranked after epoch `step`: every `interval` epochs, never after the last."""
    return step % options.interval == 0 and step < epochs


def quantile_size(members: int, quantile: float) -> int:
    """How many members the bottom (and the top) quantile holds: ceil, at most half (as in Ray Tune)."""
    return min(math.ceil(members * quantile), members // 2)


def choose_donor(
    own: Peer, peers: Sequence[Peer], *, quantile: float, direction: Direction, rng: np.random.Generator
) -> int | None:
    """A top-quantile member's trial id when `own` is in the bottom quantile of `own` and `peers`, else None.

    A member that diverged (no finite value) ranks below every member that did not; ties keep the earlier
    trial id higher, so the outcome never depends on the order the peers were read in.
    """
    sign = 1.0 if direction == "maximize" else -1.0

    def rank_key(peer: Peer) -> tuple[int, float, int]:
        if peer.value is None or not math.isfinite(peer.value):
            return (0, 0.0, -peer.trial_id)
        return (1, sign * peer.value, -peer.trial_id)

    ranked = sorted([own, *peers], key=rank_key)  # worst first
    size = quantile_size(len(ranked), quantile)
    if size == 0 or own not in ranked[:size]:
        return None
    top = [peer.trial_id for peer in ranked[-size:] if rank_key(peer)[0]]
    if not top:
        return None
    return int(top[int(rng.integers(len(top)))])


def explore(
    params: Mapping[str, Any],
    space: SearchSpace,
    live: Collection[str],
    *,
    resample_probability: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """New values for the live tunable parameters of `params`: each resampled from its range with
    `resample_probability`, else moved by a factor of 0.8 or 1.2 on its own quantity (the value itself on
    `linear` and `log` scales, 1 - value on `log1m`, so β = 0.9 becomes 0.88 or 0.92) and kept in range.
    A categorical moves to a neighbouring choice. Returns only what changed."""
    changes: dict[str, Any] = {}
    for name in sorted(set(live) & set(space.names) & set(params)):
        param = space.tunable(name)
        if rng.random() < resample_probability:
            new = param.from_unit(float(rng.random()))
        else:
            new = _perturbed(param, params[name], PERTURB_FACTORS[int(rng.integers(2))], rng)
        if new != params[name]:
            changes[name] = new
    return changes


def _perturbed(
    param: FloatParam | IntParam | CategoricalParam, value: Any, factor: float, rng: np.random.Generator
) -> Any:
    if isinstance(param, CategoricalParam):
        position = param.index(value) + (1 if factor > 1 else -1)
        return param.choices[min(max(position, 0), len(param.choices) - 1)]
    if param.scale == "log1m":
        moved = 1.0 - (1.0 - float(value)) * factor
    else:
        moved = float(value) * factor
    if isinstance(param, IntParam):
        rounded = round(moved)
        if rounded == value:  # a small int would never move: step by one instead
            rounded = int(value) + (1 if factor > 1 else -1)
        return int(min(max(rounded, param.low), param.high))
    return float(min(max(moved, param.low), param.high))


def exploit_rng(seed: int, trial_number: int, step: int) -> np.random.Generator:
    """The draws of one decision: the same search, trial and epoch always decide alike."""
    return np.random.default_rng([seed, _EXPLOIT_SALT, trial_number, step])


class PopulationBasedTraining(Strategy):
    """Proposes the initial population; exploit and explore happen while it trains (see module doc)."""

    kind = "pbt"

    def __init__(self, space: SearchSpace, *, options: PbtOptions, **common: Any) -> None:
        super().__init__(space, **common)
        self.pbt = options

    def propose(
        self, history: Sequence[TrialRecord], state: Mapping[str, Any], n: int
    ) -> tuple[list[Proposal], dict[str, Any]]:
        proposed = int((state or {}).get("proposed", 0))
        count = max(0, min(n, self.pbt.population - proposed, self.max_trials - len(history)))
        proposals = [Proposal(self._member(index)) for index in range(proposed, proposed + count)]
        return proposals, {"proposed": proposed + count}

    def _member(self, index: int) -> dict[str, Any]:
        if index < len(self.initial_configs):
            return dict(self.initial_configs[index])
        uniforms = self.trial_rng(index).random(len(self.space.names))
        return self.space.from_unit(Box.whole(self.space).sample(self.space, uniforms))

    def is_exhausted(self, history: Sequence[TrialRecord], state: Mapping[str, Any]) -> bool:
        return int((state or {}).get("proposed", 0)) >= min(self.pbt.population, self.max_trials)

    def describe(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"kind": self.kind, **self.pbt.to_spec(), "proposed": int((state or {}).get("proposed", 0))}

    def options(self) -> dict[str, Any]:
        return self.pbt.to_spec()
