"""How coarse-to-fine's box follows the results when a model chooses the points inside it.

The classic zoom fits each round's box around the best trials and only ever shrinks it, so a first
round that happened to look best in a poor region traps the search there. Here the box behaves like a
trust region (Eriksson et al., "Scalable global optimization via local Bayesian optimization",
NeurIPS 2019): after the first zoom it is centred on the best trial so far; a round that improved on
the best grows it, a round that did not shrinks it, and once it has shrunk below `MIN_WIDTH` on every
axis the search has converged there and the next round starts over on the whole space (with every
result kept, so the model knows where not to look again). Categorical axes keep all their choices:
the model decides among them, so one unlucky round never removes a choice for good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from app.domain.space import CategoricalParam, SearchSpace
from app.domain.strategies._acquisition import Region
from app.domain.strategies._base import Direction, TrialRecord, best_trials
from app.domain.strategies._box import Box

GROWTH = 2.0
SHRINK = 0.5
MIN_WIDTH = 1.0 / 64
"""A box narrower than 1/64 of every axis's range has converged: the next round restarts."""
MIN_IMPROVEMENT = 1e-3
"""A round improved on the best when it beat it by this fraction of its magnitude (noise is no success)."""


def improved(best_now: float | None, best_before: float | None, direction: Direction) -> bool:
    if best_now is None:
        return False
    if best_before is None:
        return True
    gain = best_now - best_before if direction == "maximize" else best_before - best_now
    return gain > MIN_IMPROVEMENT * max(abs(best_before), 1e-12)


def best_value(history: Sequence[TrialRecord], direction: Direction) -> float | None:
    best = best_trials(history, 1, direction)
    return float(best[0].value) if best and best[0].value is not None else None


def centred_box(space: SearchSpace, centre: np.ndarray, widths: Mapping[str, float]) -> Box:
    """A box of the given widths (unit space, per numeric axis) around `centre`, clipped to the cube;
    every categorical choice allowed."""
    intervals: dict[str, tuple[float, float]] = {}
    choices: dict[str, tuple[int, ...]] = {}
    for axis, name in enumerate(space.names):
        param = space.tunable(name)
        if isinstance(param, CategoricalParam):
            choices[name] = tuple(range(len(param.choices)))
            continue
        middle = 0.5 if np.isnan(centre[axis]) else float(centre[axis])
        half = widths[name] / 2
        intervals[name] = (max(0.0, middle - half), min(1.0, middle + half))
    return Box(intervals, choices)


def next_widths(widths: Mapping[str, float], success: bool) -> tuple[dict[str, float], bool]:
    """The next round's widths after a round that did (or did not) improve, and whether to restart."""
    factor = GROWTH if success else SHRINK
    grown = {name: min(1.0, width * factor) for name, width in widths.items()}
    converged = bool(grown) and max(grown.values()) < MIN_WIDTH
    return grown, converged


def widths_of(box: Box) -> dict[str, float]:
    return {name: hi - lo for name, (lo, hi) in box.intervals.items()}


def all_choices(space: SearchSpace, box: Box) -> Box:
    """The same intervals with every categorical choice allowed again."""
    return Box(box.intervals, Box.whole(space).choices)


def region_of(space: SearchSpace, box: Box) -> Region:
    """The box as candidate bounds in unit space (categorical axes span [0, 1]: all choices)."""
    lower = np.zeros(len(space.names))
    upper = np.ones(len(space.names))
    for axis, name in enumerate(space.names):
        if name in box.intervals:
            lower[axis], upper[axis] = box.intervals[name]
    return Region(lower, upper)


def round_summary(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What a round records about its zoom, for people (`describe`)."""
    return {key: entry[key] for key in ("reason", "best_at_open") if key in entry}
