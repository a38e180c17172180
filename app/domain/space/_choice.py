"""Categorical and fixed parameters."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from app.domain.space._checks import check_json_value, is_json_scalar, value_key
from app.domain.space._numeric import ParamError
from app.errors import InvalidSpec


@dataclass(frozen=True)
class CategoricalParam:
    """One of a list of choices (strings, finite numbers, bools or null).

    Choice i owns the unit slice [i/k, (i+1)/k); `to_unit` returns the slice's centre.
    """

    choices: tuple[Any, ...]
    type: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        if not isinstance(self.choices, list | tuple) or not self.choices:
            raise ParamError("choices", f"`choices` must be a non-empty list, got {self.choices!r}")
        seen: set[tuple[str, Any]] = set()
        for index, choice in enumerate(self.choices):
            if not is_json_scalar(choice):
                raise ParamError(
                    f"choices[{index}]",
                    f"a choice must be a string, a finite number, a bool or null, got {choice!r}",
                )
            key = value_key(choice)
            if key in seen:
                raise ParamError(f"choices[{index}]", f"choices must be distinct, {choice!r} appears twice")
            seen.add(key)
        object.__setattr__(self, "choices", tuple(self.choices))

    def index(self, value: Any) -> int:
        """Position of `value` among the choices (`true` and `1` are different choices)."""
        try:
            key = value_key(value)
        except TypeError:
            key = ("?", None)
        for position, choice in enumerate(self.choices):
            if value_key(choice) == key:
                return position
        raise ValueError(f"must be one of {list(self.choices)!r}, got {value!r}")

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, unit: float) -> Any:
        if math.isnan(unit):
            raise ValueError("a unit coordinate must not be NaN for an active parameter")
        position = min(max(int(unit * len(self.choices)), 0), len(self.choices) - 1)
        return self.choices[position]

    def coerce(self, value: Any) -> Any:
        return self.choices[self.index(value)]

    def to_spec(self) -> dict[str, Any]:
        return {"type": "categorical", "choices": list(self.choices)}


@dataclass(frozen=True)
class FixedParam:
    """A value every trial gets as is: a bare JSON value in the spec (a number, string, bool, list, null)."""

    value: Any
    type: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        try:
            check_json_value(self.value, "value")
        except InvalidSpec as error:
            raise ParamError(error.field or "value", error.message) from error

    def coerce(self, value: Any) -> Any:
        if value_key(value) != value_key(self.value):
            raise ValueError(f"is fixed at {self.value!r} by the space, got {value!r}")
        return self.value

    def to_spec(self) -> Any:
        """The bare value, or `{"type": "fixed", "value": ...}` for an object (bare, it reads as a param)."""
        if isinstance(self.value, dict):
            return {"type": "fixed", "value": copy.deepcopy(self.value)}
        return copy.deepcopy(self.value)
