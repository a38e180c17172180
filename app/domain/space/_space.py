"""The search space: named parameters, their conditions, and the unit cube strategies search in."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.domain.space._choice import CategoricalParam, FixedParam
from app.domain.space._conditions import Condition, activation_order, check_references
from app.domain.space._numeric import FloatParam, IntParam
from app.domain.space._parse import Param, parse_entry
from app.errors import InvalidSpec

Tunable = FloatParam | IntParam | CategoricalParam


@dataclass(frozen=True)
class SearchSpace:
    """Parameters in the order the user wrote them, and the conditions of the conditional ones.

    The unit-space axes are the tunable parameters sorted by name, so that they do not depend on how
    a stored spec's keys happen to be ordered.
    """

    params: tuple[tuple[str, Param], ...]
    conditions: tuple[tuple[str, Condition], ...] = ()
    _by_name: dict[str, Param] = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _order: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = dict(self.params)
        if len(by_name) != len(self.params):
            raise InvalidSpec("space", "parameter names must be distinct")
        conditions = dict(self.conditions)
        for name, condition in conditions.items():
            if name not in by_name:
                raise InvalidSpec(f"space.{name}", "a condition is given for an unknown parameter")
            if isinstance(by_name[name], FixedParam):
                raise InvalidSpec(f"space.{name}.when", "`when` applies to tunable parameters only")
            check_references(name, condition, by_name)
        object.__setattr__(self, "_by_name", by_name)
        tunable = sorted(name for name, param in self.params if not isinstance(param, FixedParam))
        object.__setattr__(self, "_names", tuple(tunable))
        object.__setattr__(self, "_order", activation_order(by_name, conditions))

    @classmethod
    def from_spec(cls, raw: Mapping[str, Any]) -> SearchSpace:
        """Build from the user's `space` object; InvalidSpec names the offending `space.<name>[.<attr>]`."""
        if not isinstance(raw, Mapping):
            raise InvalidSpec("space", f"`space` must be an object of parameters, got {raw!r}")
        if not raw:
            raise InvalidSpec("space", "`space` needs at least one parameter")
        params: list[tuple[str, Param]] = []
        conditions: list[tuple[str, Condition]] = []
        for name, entry in raw.items():
            param, condition = parse_entry(name, entry)
            params.append((name, param))
            if condition is not None:
                conditions.append((name, condition))
        return cls(tuple(params), tuple(conditions))

    def to_spec(self) -> dict[str, Any]:
        """The canonical JSON form, defaults filled in."""
        conditions = dict(self.conditions)
        spec: dict[str, Any] = {}
        for name, param in self.params:
            spec[name] = param.to_spec()
            if name in conditions:
                spec[name]["when"] = conditions[name].to_spec()
        return spec

    @property
    def names(self) -> tuple[str, ...]:
        """Tunable parameter names: the unit-space axes, in order."""
        return self._names

    def param(self, name: str) -> Param:
        return self._by_name[name]

    def tunable(self, name: str) -> Tunable:
        param = self._by_name[name]
        assert not isinstance(param, FixedParam), name
        return param

    @property
    def activation_order(self) -> tuple[str, ...]:
        """Every parameter's name, each after those its `when` condition reads."""
        return self._order

    def condition(self, name: str) -> Condition | None:
        return dict(self.conditions).get(name)

    def fixed(self) -> dict[str, Any]:
        return {name: copy.deepcopy(p.value) for name, p in self.params if isinstance(p, FixedParam)}

    def active_names(self, values: Mapping[str, Any]) -> frozenset[str]:
        """Parameters that exist given `values` (a parameter whose condition reads an absent one does not)."""
        present: dict[str, Any] = {}
        active: set[str] = set()
        conditions = dict(self.conditions)
        for name in self._order:
            condition = conditions.get(name)
            if condition is None or condition.holds(present):
                active.add(name)
                if name in values:
                    present[name] = values[name]
        return frozenset(active)

    def from_unit(self, unit_point: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Full params: fixed values and active tunables, in spec order; inactive conditionals are omitted."""
        if len(unit_point) != len(self._names):
            raise ValueError(f"expected {len(self._names)} unit coordinates, got {len(unit_point)}")
        coordinates = dict(zip(self._names, (float(u) for u in unit_point), strict=True))
        values = self.fixed()
        conditions = dict(self.conditions)
        for name in self._order:
            param = self._by_name[name]
            condition = conditions.get(name)
            if isinstance(param, FixedParam) or (condition is not None and not condition.holds(values)):
                continue
            if math.isnan(coordinates[name]):
                raise ValueError(f"the unit coordinate of active parameter {name!r} is NaN")
            values[name] = param.from_unit(coordinates[name])
        return {name: values[name] for name, _ in self.params if name in values}

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """Unit coordinates along `names`, NaN where inactive or absent; shape (len(names),)."""
        active = self.active_names(params)
        point = np.full(len(self._names), np.nan)
        for axis, name in enumerate(self._names):
            if name in active and name in params:
                point[axis] = self.tunable(name).to_unit(params[name])
        return point

    def validate_params(self, params: Mapping[str, Any], field: str) -> dict[str, Any]:
        """Check a user-given configuration (e.g. `strategy.initial_configs[0]`); fills in fixed values."""
        if not isinstance(params, Mapping):
            raise InvalidSpec(field, f"must be an object of parameter values, got {params!r}")
        for name in params:
            if name not in self._by_name:
                raise InvalidSpec(f"{field}.{name}", f"{name!r} is not a parameter of the space")
        values: dict[str, Any] = {}
        for name in self._order:
            param = self._by_name[name]
            condition = dict(self.conditions).get(name)
            if condition is not None and not condition.holds(values):
                if name in params:
                    raise InvalidSpec(
                        f"{field}.{name}", f"{name!r} only exists when {condition.to_spec()}; leave it out"
                    )
                continue
            if name not in params:
                if isinstance(param, FixedParam):
                    values[name] = copy.deepcopy(param.value)
                    continue
                raise InvalidSpec(f"{field}.{name}", f"a value for {name!r} is required")
            try:
                values[name] = param.coerce(params[name])
            except ValueError as error:
                raise InvalidSpec(f"{field}.{name}", str(error)) from error
        return {name: values[name] for name, _ in self.params if name in values}
