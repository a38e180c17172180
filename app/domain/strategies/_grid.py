"""Grid search: every combination, in a fixed order, each configuration once."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.domain.space import CategoricalParam, IntParam, SearchSpace
from app.domain.strategies._base import PointwiseStrategy, TrialRecord
from app.errors import InvalidSpec

MAX_CATEGORICAL_COMBINATIONS = 1_000
"""Every read of a grid search rebuilds its blocks, one per combination: more would cost seconds."""


@dataclass(frozen=True)
class _Block:
    """Grid points sharing one combination of categorical values; `numeric`: its active numeric axes."""

    categorical: dict[str, float]
    numeric: tuple[str, ...]
    size: int


def axis_values(space: SearchSpace, name: str, points_per_axis: int) -> list[float]:
    """Grid coordinates of one axis in unit space: evenly spaced on its scale, every choice, distinct ints."""
    param = space.tunable(name)
    if isinstance(param, CategoricalParam):
        return [(i + 0.5) / len(param.choices) for i in range(len(param.choices))]
    units = [0.5] if points_per_axis == 1 else np.linspace(0.0, 1.0, points_per_axis).tolist()
    if isinstance(param, IntParam):
        distinct = sorted({param.from_unit(u) for u in units})
        return [param.to_unit(value) for value in distinct]
    return units


class GridStrategy(PointwiseStrategy):
    """All combinations of `points_per_axis` values per numeric axis and every choice per categorical.

    Points are enumerated combination by combination of the categoricals, the numeric axes varying
    like an odometer (last axis fastest). A conditional parameter's values are only varied where it
    is active, so no configuration is tried twice. Prefer `random` or `sobol` unless the space is tiny:
    a grid spends its budget re-trying the same few values of the parameters that matter.
    """

    kind = "grid"

    def __init__(self, *args: Any, points_per_axis: int = 5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.points_per_axis = points_per_axis
        self._values = {name: axis_values(self.space, name, points_per_axis) for name in self.space.names}
        self._blocks = self._enumerate_blocks()
        self._starts = list(itertools.accumulate((b.size for b in self._blocks), initial=0))

    @property
    def size(self) -> int:
        return self._starts[-1]

    def _enumerate_blocks(self) -> list[_Block]:
        categorical = [n for n in self.space.names if isinstance(self.space.tunable(n), CategoricalParam)]
        numeric = [n for n in self.space.names if n not in categorical]
        combinations = 1
        for name in categorical:
            combinations *= len(self._values[name])
        if combinations > MAX_CATEGORICAL_COMBINATIONS:
            raise InvalidSpec(
                "strategy.kind", f"a grid over {combinations} categorical combinations is too large"
            )
        blocks = []
        for coordinates in itertools.product(*(range(len(self._values[n])) for n in categorical)):
            chosen = dict(zip(categorical, coordinates, strict=True))
            values = {**self.space.fixed()}
            values.update({n: self.space.tunable(n).from_unit(self._values[n][i]) for n, i in chosen.items()})
            active = self.space.active_names(values)
            if any(chosen[n] != 0 for n in categorical if n not in active):
                continue  # the same configuration as the block with this inactive categorical at 0
            active_numeric = tuple(n for n in numeric if n in active)
            size = int(np.prod([len(self._values[n]) for n in active_numeric], dtype=object))
            unit = {n: self._values[n][i] for n, i in chosen.items()}
            blocks.append(_Block(unit, active_numeric, size))
        return blocks

    def point(self, index: int, number: int) -> dict[str, Any] | None:
        if index >= self.size:
            return None
        block_index = bisect.bisect_right(self._starts, index) - 1
        block = self._blocks[block_index]
        offset = index - self._starts[block_index]
        unit = {name: 0.0 for name in self.space.names}
        unit.update(block.categorical)
        for name in reversed(block.numeric):
            offset, position = divmod(offset, len(self._values[name]))
            unit[name] = self._values[name][position]
        return self.space.from_unit([unit[name] for name in self.space.names])

    def is_exhausted(self, history: Sequence[TrialRecord], state: Mapping[str, Any]) -> bool:
        return len(history) >= min(self.max_trials, len(self.initial_configs) + self.size)

    def options(self) -> dict[str, Any]:
        return {"points_per_axis": self.points_per_axis}

    def describe(self, state: Mapping[str, Any]) -> dict[str, Any]:
        axes = {
            name: [self.space.tunable(name).from_unit(u) for u in values]
            for name, values in self._values.items()
        }
        return {**super().describe(state), "size": self.size, "axes": axes}
