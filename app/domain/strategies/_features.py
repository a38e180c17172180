"""Unit-space points as features for a surrogate model: one column per numeric axis, one-hot categoricals.

A categorical's unit coordinate says which slice it falls in; distances between slice centres would
invent an order among the choices, so each choice gets a 0/1 column instead. Inactive parameters (a
`when` that does not hold) get a constant: 0.5 for a numeric column, all zeros for a one-hot block,
so that two configurations that both lack a parameter do not differ along it. Integers are snapped
to the centre of their value's bucket, so the model sees one point per distinct configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from app.domain.space import CategoricalParam, FloatParam, IntParam, SearchSpace

INACTIVE_NUMERIC = 0.5


class FeatureMap:
    """Maps unit points of a space (shape (m, d), NaN where inactive) to model features (shape (m, D))."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.columns: list[slice] = []
        self.categorical_sizes: dict[int, int] = {}
        width = 0
        for axis, name in enumerate(space.names):
            param = space.tunable(name)
            size = len(param.choices) if isinstance(param, CategoricalParam) else 1
            if isinstance(param, CategoricalParam):
                self.categorical_sizes[axis] = size
            self.columns.append(slice(width, width + size))
            width += size
        self.width = width
        self._conditional = bool(space.conditions)
        self._active_cache: dict[tuple[int, ...], np.ndarray] = {}

    def history_units(self, params: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Unit points of stored configurations; NaN where a parameter is absent (inactive).

        Vectorised per parameter (the same numbers as `SearchSpace.to_unit`): a proposal in a search of
        1,000 trials reads every one of them.
        """
        units = np.full((len(params), len(self.space.names)), np.nan)
        for axis, name in enumerate(self.space.names):
            param = self.space.tunable(name)
            rows = [row for row, config in enumerate(params) if name in config]
            if not rows:
                continue
            values = [params[row][name] for row in rows]
            if isinstance(param, CategoricalParam):
                units[rows, axis] = [param.to_unit(value) for value in values]
            else:
                units[rows, axis] = _numeric_units(param, np.asarray(values, dtype=float))
        return units

    def snap(self, units: np.ndarray) -> np.ndarray:
        """Candidates as the configurations they stand for: integers on bucket centres, choices on slice
        centres, inactive axes NaN; shape unchanged."""
        snapped = np.array(units, dtype=float)
        for axis, name in enumerate(self.space.names):
            param = self.space.tunable(name)
            column = np.clip(snapped[:, axis], 0.0, 1.0)
            if isinstance(param, CategoricalParam):
                size = len(param.choices)
                snapped[:, axis] = (np.minimum(np.floor(column * size), size - 1) + 0.5) / size
            elif isinstance(param, IntParam):
                snapped[:, axis] = _snap_int(param, column)
            else:
                snapped[:, axis] = column
        if self._conditional:
            snapped[~self.active_mask(snapped)] = np.nan
        return snapped

    def active_mask(self, units: np.ndarray) -> np.ndarray:
        """Which axes are active in each row; conditions read categoricals only, so rows are grouped by
        their choices and each distinct combination is resolved once."""
        if not self._conditional:
            return np.ones(units.shape, dtype=bool)
        categorical_axes = sorted(self.categorical_sizes)
        indices = np.zeros((len(units), len(categorical_axes)), dtype=int)
        for position, axis in enumerate(categorical_axes):
            size = self.categorical_sizes[axis]
            column = np.nan_to_num(units[:, axis], nan=0.0)
            indices[:, position] = np.minimum(np.floor(np.clip(column, 0, 1) * size), size - 1)
        mask = np.empty(units.shape, dtype=bool)
        combos, inverse = np.unique(indices, axis=0, return_inverse=True)
        for combo_index, combo in enumerate(combos):
            mask[inverse.ravel() == combo_index] = self._active_for(tuple(int(i) for i in combo))
        return mask

    def _active_for(self, combo: tuple[int, ...]) -> np.ndarray:
        if combo not in self._active_cache:
            values: dict[str, Any] = {}
            for axis, index in zip(sorted(self.categorical_sizes), combo, strict=True):
                name = self.space.names[axis]
                param = self.space.tunable(name)
                assert isinstance(param, CategoricalParam)
                values[name] = param.choices[index]
            active = self.space.active_names({**self.space.fixed(), **values})
            self._active_cache[combo] = np.array([name in active for name in self.space.names])
        return self._active_cache[combo]

    def features(self, units: np.ndarray) -> np.ndarray:
        """Model inputs of snapped unit points (NaN = inactive); shape (m, width)."""
        out = np.zeros((len(units), self.width))
        for axis, columns in enumerate(self.columns):
            column = units[:, axis]
            inactive = np.isnan(column)
            size = self.categorical_sizes.get(axis)
            if size is None:
                out[:, columns.start] = np.where(inactive, INACTIVE_NUMERIC, column)
                continue
            choice = np.minimum(np.floor(np.nan_to_num(column, nan=0.0) * size), size - 1).astype(int)
            rows = np.flatnonzero(~inactive)
            out[rows, columns.start + choice[rows]] = 1.0
        return out


def _scale_forward(scale: str) -> Callable[[np.ndarray], np.ndarray]:
    if scale == "log":
        return np.log10
    if scale == "log1m":
        return lambda values: np.log10(1.0 - values)
    return lambda values: np.asarray(values, dtype=float)


def _numeric_units(param: FloatParam | IntParam, values: np.ndarray) -> np.ndarray:
    """`param.to_unit` of each value, vectorised."""
    forward = _scale_forward(param.scale)
    if isinstance(param, IntParam):
        start, stop = forward(np.array(param.low - 0.5)), forward(np.array(param.high + 0.5))
        positions = (forward(values - 0.5) + forward(values + 0.5)) / 2
    else:
        start, stop = forward(np.array(param.low)), forward(np.array(param.high))
        if stop == start:
            return np.full(len(values), 0.5)
        positions = forward(values)
    return np.asarray(np.clip((positions - start) / (stop - start), 0.0, 1.0))


def _snap_int(param: IntParam, column: np.ndarray) -> np.ndarray:
    """The unit coordinate of the bucket centre of the integer each coordinate maps to (vectorised
    `to_unit(from_unit(u))`)."""
    forward = _scale_forward(param.scale)
    start, stop = forward(np.array(param.low - 0.5)), forward(np.array(param.high + 0.5))
    position = start + column * (stop - start)
    raw = 10.0**position if param.scale == "log" else position
    values = np.clip(np.floor(raw + 0.5), param.low, param.high)
    centre = (forward(values - 0.5) + forward(values + 0.5)) / 2
    return np.asarray(np.clip((centre - start) / (stop - start), 0.0, 1.0))
