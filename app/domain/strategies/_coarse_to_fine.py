"""Coarse-to-fine search: sample the whole space, then zoom in on the best results, round by round.

Two ways to fill a round. `sampler: "model"` (the default) lets a Gaussian process choose each point
inside the round's box by expected improvement, and the box follows the results like a trust region
(`_trust_region`): it grows after a round that improved, shrinks after one that did not, and restarts
on the whole space once it has converged. `model+tpe` gives every third of those points to TPE over the
whole space (`GLOBAL_EVERY`) and keeps the model's points apart from every tried one. `sobol` and
`random` are the classic zoom: points spread evenly in a box that is refitted around the best trials
each round and only ever shrinks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from app.domain.strategies._base import FINISHED_STATES, Proposal, Strategy, TrialRecord, best_trials
from app.domain.strategies._box import Box, zoom
from app.domain.strategies._features import FeatureMap
from app.domain.strategies._model import Surrogate, exploiting, learnable
from app.domain.strategies._tpe import tpe_point
from app.domain.strategies._trust_region import (
    all_choices,
    best_value,
    centred_box,
    improved,
    next_widths,
    region_of,
    round_summary,
    widths_of,
)
from app.domain.strategies._uniforms import sobol_points

Sampler = Literal["model", "model+tpe", "sobol", "random"]
MODEL_SAMPLERS = ("model", "model+tpe")
GLOBAL_EVERY = 3
"""With `model+tpe`, every third point of a round that the model would choose, TPE chooses over the whole
space instead (`_tpe`): the trust region exploits, TPE keeps looking in the other basins the good trials
point to, and a better trial it finds becomes the next box's centre. (docs/benchmarks.md has what it
gains and loses against `model`.)"""


class CoarseToFineStrategy(Strategy):
    """`rounds` rounds of `trials_per_round` trials; round 0 covers the whole unit cube.

    When round r is full and `advance_when` of its trials have finished, round r + 1 opens. The first
    zoom (and the first after a restart) is the bounding box (in unit space) of the best completed
    trials so far (`top_k` of them, or `top_fraction` x `trials_per_round`), widened by `margin` times
    the previous box's width and clipped to the cube. With the classic samplers every round zooms that
    way and categoricals keep only the choices seen among the best; counting the best against a
    round's size, not every trial so far, keeps later boxes shrinking as good trials pile up. With the
    model sampler later boxes are centred on the best trial and resized by the trust-region rule. The
    box is stored in the state when the round opens, so a restart resumes in the same box. Failed and
    pruned trials count as finished, never as best.
    """

    kind = "coarse_to_fine"

    def __init__(
        self,
        *args: Any,
        rounds: int,
        trials_per_round: int,
        top_fraction: float | None,
        top_k: int | None,
        margin: float,
        advance_when: float,
        sampler: Sampler,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rounds = rounds
        self.trials_per_round = trials_per_round
        self.top_fraction = top_fraction
        self.top_k = top_k
        self.margin = margin
        self.advance_when = advance_when
        self.sampler = sampler
        self.features = FeatureMap(self.space)

    @property
    def top_count(self) -> int:
        """How many of the best trials so far a new round's box is fitted around."""
        if self.top_k is not None:
            return self.top_k
        return max(1, math.ceil((self.top_fraction or 0.0) * self.trials_per_round - 1e-9))

    def quota(self, round_index: int) -> int:
        """Trials in a round; round 0 also holds every warm-start config."""
        if round_index == 0:
            return max(self.trials_per_round, len(self.initial_configs))
        return self.trials_per_round

    def _rounds(self, state: Mapping[str, Any]) -> list[dict[str, Any]]:
        rounds = [dict(r, trials=list(r["trials"])) for r in (state or {}).get("rounds", [])]
        if not rounds:
            rounds = [{"round": 0, "box": Box.whole(self.space).to_json(), "best": [], "trials": []}]
        return rounds

    def propose(
        self, history: Sequence[TrialRecord], state: Mapping[str, Any], n: int
    ) -> tuple[list[Proposal], dict[str, Any]]:
        rounds = self._rounds(state)
        proposals: list[Proposal] = []
        room = self.room(history, n)
        new_state: dict[str, Any] = {key: value for key, value in (state or {}).items() if key != "rounds"}
        surrogate: Surrogate | None = None
        while len(proposals) < room:
            current = rounds[-1]
            index = current["round"]
            if len(current["trials"]) < self.quota(index):
                number = len(history) + len(proposals)
                if self._model_chooses(current, history) and self._global_turn(current, number):
                    pending = [TrialRecord(-1, p.params, "queued", None) for p in proposals]
                    seed = int(self.trial_rng(number).integers(2**31))
                    point = tpe_point(self.space, [*history, *pending], self.direction, seed)
                    params = self.space.from_unit(np.nan_to_num(point, nan=0.5))
                    if surrogate is not None:
                        surrogate.note_pending(self.features.history_units([params])[0])
                    current["global"] = [*current.get("global", []), number]  # a new list: state is shared
                elif self._model_chooses(current, history):
                    if surrogate is None:
                        proposed = [p.params for p in proposals]
                        surrogate = Surrogate.for_proposal(
                            self.features, history, proposed, self.direction, state
                        )
                        new_state.update(surrogate.fitted.to_json())
                    box = Box.from_json(current["box"])
                    point = surrogate.next_point(
                        self.trial_rng(number),
                        region_of(self.space, box),
                        exploit=exploiting(number, self.max_trials),
                        separate=self.sampler == "model+tpe",
                    )
                    params = self.space.from_unit(np.nan_to_num(point, nan=0.5))
                else:
                    params = self._params(current, number)
                proposals.append(Proposal(params, round=index))
                current["trials"].append(number)
            elif index + 1 < self.rounds and self._may_advance(current, history):
                rounds.append(self._open(index + 1, current, history))
            else:
                break
        return proposals, {**new_state, "rounds": rounds}

    def _model_chooses(self, current: Mapping[str, Any], history: Sequence[TrialRecord]) -> bool:
        """The model picks every point of the model sampler's rounds but the first (coarse) one."""
        return self.sampler in MODEL_SAMPLERS and current["round"] > 0 and learnable(history)

    def _global_turn(self, current: Mapping[str, Any], number: int) -> bool:
        """Whether TPE, not the model, chooses this point of the round (never in the exploitation tail)."""
        position = len(current["trials"])
        return (
            self.sampler == "model+tpe"
            and position % GLOBAL_EVERY == GLOBAL_EVERY - 1
            and not exploiting(number, self.max_trials)
        )

    def _params(self, current: Mapping[str, Any], number: int) -> dict[str, Any]:
        position = len(current["trials"])
        if current["round"] == 0:
            if position < len(self.initial_configs):
                return dict(self.initial_configs[position])
            position -= len(self.initial_configs)
        dimensions = len(self.space.names)
        if self.sampler == "sobol":
            uniforms = sobol_points([self.seed, current["round"]], position, 1, dimensions)[0]
        else:
            uniforms = self.trial_rng(number).random(dimensions)
        return self.space.from_unit(Box.from_json(current["box"]).sample(self.space, uniforms))

    def _may_advance(self, current: Mapping[str, Any], history: Sequence[TrialRecord]) -> bool:
        members = set(current["trials"])
        finished = sum(1 for t in history if t.number in members and t.state in FINISHED_STATES)
        return finished >= math.ceil(self.advance_when * self.quota(current["round"]) - 1e-9)

    def _open(
        self, index: int, previous: Mapping[str, Any], history: Sequence[TrialRecord]
    ) -> dict[str, Any]:
        parent = Box.from_json(previous["box"])
        best = best_trials(history, self.top_count, self.direction)
        points = np.array([self.space.to_unit(t.params) for t in best]).reshape(
            len(best), len(self.space.names)
        )
        box = zoom(self.space, parent, points, self.margin) if best else parent
        entry: dict[str, Any] = {"round": index, "best": [t.number for t in best], "trials": []}
        if self.sampler not in MODEL_SAMPLERS:
            return {**entry, "box": box.to_json()}
        best_now = best_value(history, self.direction)
        reason = "zoom"
        if previous["round"] > 0 and previous.get("reason") != "restart" and best:
            success = improved(best_now, previous.get("best_at_open"), self.direction)
            widths, converged = next_widths(previous["widths"], success)
            box = Box.whole(self.space) if converged else centred_box(self.space, points[0], widths)
            reason = "restart" if converged else ("grow" if success else "shrink")
            if not converged:
                return {
                    **entry,
                    "box": box.to_json(),
                    "widths": widths,
                    "best_at_open": best_now,
                    "reason": reason,
                }
        box = all_choices(self.space, box)
        return {
            **entry,
            "box": box.to_json(),
            "widths": widths_of(box),
            "best_at_open": best_now,
            "reason": reason,
        }

    def is_exhausted(self, history: Sequence[TrialRecord], state: Mapping[str, Any]) -> bool:
        if len(history) >= self.max_trials:
            return True
        rounds = self._rounds(state)
        last = rounds[-1]
        return last["round"] == self.rounds - 1 and len(last["trials"]) >= self.quota(last["round"])

    def describe(self, state: Mapping[str, Any]) -> dict[str, Any]:
        described = []
        for entry in self._rounds(state):
            box = Box.from_json(entry["box"])
            described.append(
                {
                    "round": entry["round"],
                    "trials": list(entry["trials"]),
                    "zoomed_from_trials": list(entry["best"]),
                    "tpe_trials": list(entry.get("global", [])),
                    "box": {"unit": box.to_json(), "values": box.in_user_units(self.space)},
                    **round_summary(entry),
                }
            )
        return {"kind": self.kind, "rounds_planned": self.rounds, "rounds": described}

    def options(self) -> dict[str, Any]:
        top = {"top_k": self.top_k} if self.top_k is not None else {"top_fraction": self.top_fraction}
        return {
            "rounds": self.rounds,
            "trials_per_round": self.trials_per_round,
            **top,
            "margin": self.margin,
            "advance_when": self.advance_when,
            "sampler": self.sampler,
        }
