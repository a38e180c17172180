"""Checks of user-written values; every failure is an `InvalidSpec` naming the field as the user wrote it."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping
from typing import Any

from app.errors import InvalidSpec


def is_number(value: Any) -> bool:
    """True for ints and floats, false for bools (JSON `true` is not the number 1 here)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def is_json_scalar(value: Any) -> bool:
    """A string, a finite number, a bool or None: what a categorical choice may be."""
    if value is None or isinstance(value, str | bool):
        return True
    return is_number(value) and math.isfinite(value)


def describe_number_problem(value: Any) -> str | None:
    """Why `value` is not a usable finite number, or None when it is one."""
    if not is_number(value):
        return f"must be a number, got {value!r}"
    if not math.isfinite(value):
        return f"must be a finite number, got {value}"
    return None


def check_keys(raw: Mapping[str, Any], allowed: Collection[str], prefix: str, what: str) -> None:
    """Reject keys outside `allowed`, naming the first unknown one."""
    for key in raw:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise InvalidSpec(f"{prefix}.{key}", f"unknown option {key!r} for {what}; known options: {known}")


def read_int(
    raw: Mapping[str, Any],
    key: str,
    prefix: str,
    default: int | None,
    *,
    minimum: int,
    maximum: int | None = None,
) -> int:
    """An integer option in [minimum, maximum]; integral floats such as 3.0 are accepted."""
    value = raw.get(key, default)
    field = f"{prefix}.{key}"
    if value is None:
        raise InvalidSpec(field, f"`{key}` is required")
    problem = describe_number_problem(value)
    if problem is not None:
        raise InvalidSpec(field, problem)
    if not float(value).is_integer():
        raise InvalidSpec(field, f"must be an integer, got {value!r}")
    if value < minimum:
        raise InvalidSpec(field, f"`{key} >= {minimum}` must hold, got {key}={value!r}")
    if maximum is not None and value > maximum:
        raise InvalidSpec(field, f"`{key} <= {maximum}` must hold, got {key}={value!r}")
    return int(value)


def read_fraction(
    raw: Mapping[str, Any], key: str, prefix: str, default: float, *, allow_zero: bool, upper: float = 1.0
) -> float:
    """A float option in (0, upper] (or [0, upper] when `allow_zero`)."""
    value = raw.get(key, default)
    field = f"{prefix}.{key}"
    problem = describe_number_problem(value)
    if problem is not None:
        raise InvalidSpec(field, problem)
    ok = (0 <= value if allow_zero else 0 < value) and value <= upper
    if not ok:
        lower = "0 <=" if allow_zero else "0 <"
        raise InvalidSpec(field, f"`{lower} {key} <= {upper}` must hold, got {key}={value!r}")
    return float(value)


def value_key(value: Any) -> tuple[str, Any]:
    """A hashable identity for a JSON value that keeps `true` apart from `1` (Python says they are equal)."""
    if value is None:
        return ("null", None)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return ("bool", bool(value))
    if is_number(value):
        return ("number", float(value))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, list | tuple):
        return ("list", tuple(value_key(item) for item in value))
    if isinstance(value, Mapping):
        return ("object", tuple(sorted((str(k), value_key(v)) for k, v in value.items())))
    raise TypeError(f"not a JSON value: {value!r}")


def check_json_value(value: Any, field: str) -> None:
    """Reject anything JSON cannot hold, and non-finite numbers, anywhere inside `value`."""
    if value is None or isinstance(value, str | bool):
        return
    if is_number(value):
        if not math.isfinite(value):
            raise InvalidSpec(field, f"must be a finite number, got {value}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json_value(item, f"{field}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidSpec(field, f"object keys must be strings, got {key!r}")
            check_json_value(item, f"{field}.{key}")
        return
    raise InvalidSpec(
        field, f"must be a JSON value (number, string, bool, list, object or null), got {value!r}"
    )
