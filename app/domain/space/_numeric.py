"""Float and int parameters: validated value objects that map their scale onto the unit interval.

A unit coordinate `u` in [0, 1] is uniform on the user's scale: `linear` spreads it evenly over
[low, high], `log` over [log10 low, log10 high], and `log1m` over [log10(1 - low), log10(1 - high)],
so that 0.9, 0.99 and 0.999 are as far apart as 0.1, 0.01 and 0.001 would be on a log scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from app.domain.space._checks import describe_number_problem

Scale = Literal["linear", "log", "log1m"]
FLOAT_SCALES: tuple[Scale, ...] = ("linear", "log", "log1m")
INT_SCALES: tuple[Scale, ...] = ("linear", "log")


class ParamError(ValueError):
    """A parameter's values break its invariants; `attr` names the attribute to blame (e.g. `low`)."""

    def __init__(self, attr: str, message: str) -> None:
        super().__init__(f"{attr}: {message}")
        self.attr = attr
        self.message = message


def _forward(scale: Scale, value: float) -> float:
    if scale == "log":
        return math.log10(value)
    if scale == "log1m":
        return math.log10(1.0 - value)
    return value


def _inverse(scale: Scale, position: float) -> float:
    if scale == "log":
        return float(10.0**position)
    if scale == "log1m":
        return float(1.0 - 10.0**position)
    return position


def _clip_unit(unit: float) -> float:
    if math.isnan(unit):
        raise ValueError("a unit coordinate must not be NaN for an active parameter")
    return min(max(float(unit), 0.0), 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def _check_bounds(low: Any, high: Any, scale: Any, scales: tuple[Scale, ...]) -> None:
    for attr, value in (("low", low), ("high", high)):
        problem = describe_number_problem(value)
        if problem is not None:
            raise ParamError(attr, problem)
    if scale not in scales:
        raise ParamError("scale", f"`scale` must be one of {', '.join(scales)}, got {scale!r}")
    if not low <= high:
        raise ParamError("low", f"`low <= high` must hold, got {low=}, {high=}")
    if scale == "log" and not low > 0:
        raise ParamError("low", f"`low > 0` must hold on a log scale, got {low=}")
    if scale == "log1m" and not high < 1:
        raise ParamError("high", f"`high < 1` must hold on a log1m scale (it samples 1 - 10**r), got {high=}")


@dataclass(frozen=True)
class FloatParam:
    """A real-valued parameter in [low, high] on a `linear`, `log` or `log1m` scale."""

    low: float
    high: float
    scale: Scale = "linear"
    type: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.scale, FLOAT_SCALES)
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

    def to_unit(self, value: float) -> float:
        start, stop = _forward(self.scale, self.low), _forward(self.scale, self.high)
        if stop == start:
            return 0.5
        return _clip_unit((_forward(self.scale, value) - start) / (stop - start))

    def from_unit(self, unit: float) -> float:
        start, stop = _forward(self.scale, self.low), _forward(self.scale, self.high)
        value = _inverse(self.scale, start + _clip_unit(unit) * (stop - start))
        return min(max(value, self.low), self.high)

    def coerce(self, value: Any) -> float:
        """`value` as a float inside the range, or ValueError saying why not."""
        problem = describe_number_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if not self.low <= value <= self.high:
            raise ValueError(f"must lie in [{self.low}, {self.high}], got {value!r}")
        return float(value)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "scale": self.scale}


@dataclass(frozen=True)
class IntParam:
    """An integer parameter in [low, high] on a `linear` or `log` scale.

    Each integer v owns the bucket [v - 0.5, v + 0.5] on the scale, so every value is reachable and,
    on the log scale, small values are not crowded out by large ones; `to_unit` returns the bucket's
    centre so that `from_unit(to_unit(v)) == v`.
    """

    low: int
    high: int
    scale: Scale = "linear"
    type: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.scale, INT_SCALES)
        for attr in ("low", "high"):
            value = getattr(self, attr)
            if not float(value).is_integer():
                raise ParamError(attr, f"`{attr}` must be an integer, got {value!r}")
            object.__setattr__(self, attr, int(value))
        if self.scale == "log" and self.low < 1:
            raise ParamError("low", f"`low >= 1` must hold for an int on a log scale, got low={self.low}")

    def _span(self) -> tuple[float, float]:
        return _forward(self.scale, self.low - 0.5), _forward(self.scale, self.high + 0.5)

    def to_unit(self, value: int) -> float:
        start, stop = self._span()
        centre = (_forward(self.scale, value - 0.5) + _forward(self.scale, value + 0.5)) / 2
        return _clip_unit((centre - start) / (stop - start))

    def from_unit(self, unit: float) -> int:
        start, stop = self._span()
        value = math.floor(_inverse(self.scale, start + _clip_unit(unit) * (stop - start)) + 0.5)
        return int(min(max(value, self.low), self.high))

    def coerce(self, value: Any) -> int:
        problem = describe_number_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if not float(value).is_integer():
            raise ValueError(f"must be an integer, got {value!r}")
        if not self.low <= value <= self.high:
            raise ValueError(f"must lie in [{self.low}, {self.high}], got {value!r}")
        return int(value)

    def to_spec(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "scale": self.scale}
