"""Regions of the unit cube: an interval per numeric axis, a set of allowed choices per categorical axis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.domain.space import CategoricalParam, SearchSpace


@dataclass(frozen=True)
class Box:
    """`intervals[name] = (lo, hi)` with 0 <= lo <= hi <= 1; `choices[name]` = allowed choice indices."""

    intervals: Mapping[str, tuple[float, float]]
    choices: Mapping[str, tuple[int, ...]]

    @classmethod
    def whole(cls, space: SearchSpace) -> Box:
        intervals: dict[str, tuple[float, float]] = {}
        choices: dict[str, tuple[int, ...]] = {}
        for name in space.names:
            param = space.tunable(name)
            if isinstance(param, CategoricalParam):
                choices[name] = tuple(range(len(param.choices)))
            else:
                intervals[name] = (0.0, 1.0)
        return cls(intervals, choices)

    def sample(self, space: SearchSpace, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms in [0, 1)^d (d = len(space.names)) into this box: unit coordinates, shape (d,)."""
        point = np.empty(len(space.names))
        for axis, name in enumerate(space.names):
            u = float(uniforms[axis])
            if name in self.choices:
                allowed = self.choices[name]
                index = allowed[min(int(u * len(allowed)), len(allowed) - 1)]
                param = space.tunable(name)
                assert isinstance(param, CategoricalParam)
                point[axis] = (index + 0.5) / len(param.choices)
            else:
                lo, hi = self.intervals[name]
                point[axis] = lo + u * (hi - lo)
        return point

    def contains(self, space: SearchSpace, unit_point: np.ndarray) -> bool:
        """True when every active (non-NaN) coordinate lies in the box."""
        for axis, name in enumerate(space.names):
            u = float(unit_point[axis])
            if np.isnan(u):
                continue
            if name in self.choices:
                param = space.tunable(name)
                assert isinstance(param, CategoricalParam)
                if min(int(u * len(param.choices)), len(param.choices) - 1) not in self.choices[name]:
                    return False
            elif not self.intervals[name][0] - 1e-12 <= u <= self.intervals[name][1] + 1e-12:
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "intervals": {name: [lo, hi] for name, (lo, hi) in self.intervals.items()},
            "choices": {name: list(indices) for name, indices in self.choices.items()},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Box:
        return cls(
            {name: (float(lo), float(hi)) for name, (lo, hi) in raw["intervals"].items()},
            {name: tuple(int(i) for i in indices) for name, indices in raw["choices"].items()},
        )

    def in_user_units(self, space: SearchSpace) -> dict[str, Any]:
        """The box as people read it: [low, high] in the parameter's units, or the allowed choices."""
        described: dict[str, Any] = {}
        for name in space.names:
            param = space.tunable(name)
            if isinstance(param, CategoricalParam):
                described[name] = [param.choices[i] for i in self.choices[name]]
            else:
                lo, hi = self.intervals[name]
                described[name] = [param.from_unit(lo), param.from_unit(hi)]
        return described


def zoom(space: SearchSpace, parent: Box, best_points: np.ndarray, margin: float) -> Box:
    """The bounding box of `best_points` (shape (k, d), NaN where inactive), widened and clipped.

    Each interval grows by `margin` times the parent interval's width on both sides, so a single best
    point still gets a box of positive width; categoricals keep the choices seen among the best. An
    axis no best point uses keeps the parent's range.
    """
    intervals: dict[str, tuple[float, float]] = {}
    choices: dict[str, tuple[int, ...]] = {}
    for axis, name in enumerate(space.names):
        column = best_points[:, axis] if len(best_points) else np.empty(0)
        column = column[~np.isnan(column)]
        if name in parent.choices:
            param = space.tunable(name)
            assert isinstance(param, CategoricalParam)
            seen = {min(int(u * len(param.choices)), len(param.choices) - 1) for u in column}
            choices[name] = tuple(sorted(seen)) if seen else parent.choices[name]
            continue
        if column.size == 0:
            intervals[name] = parent.intervals[name]
            continue
        parent_lo, parent_hi = parent.intervals[name]
        pad = margin * (parent_hi - parent_lo)
        intervals[name] = (max(0.0, float(column.min()) - pad), min(1.0, float(column.max()) + pad))
    return Box(intervals, choices)
