"""Read one entry of a user's `space` object into a parameter value object (and its `when`, if any)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.space._checks import check_json_value
from app.domain.space._choice import CategoricalParam, FixedParam
from app.domain.space._conditions import Condition, parse_when
from app.domain.space._numeric import FloatParam, IntParam, ParamError
from app.errors import InvalidSpec

Param = FloatParam | IntParam | CategoricalParam | FixedParam

_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "float": ("type", "low", "high", "scale", "when"),
    "int": ("type", "low", "high", "scale", "when"),
    "categorical": ("type", "choices", "when"),
    "fixed": ("type", "value"),
}


def parse_entry(name: Any, raw: Any) -> tuple[Param, Condition | None]:
    """A parameter object `{"type": ...}` or a bare value (a fixed parameter)."""
    if not isinstance(name, str) or not name or "." in name:
        raise InvalidSpec(
            f"space.{name}", f"parameter names must be non-empty strings without dots, got {name!r}"
        )
    field = f"space.{name}"
    if not isinstance(raw, Mapping):
        check_json_value(raw, field)
        return FixedParam(raw), None
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _ATTRIBUTES:
        known = ", ".join(_ATTRIBUTES)
        raise InvalidSpec(f"{field}.type", f"`type` must be one of {known}, got {kind!r}")
    for key in raw:
        if key not in _ATTRIBUTES[kind]:
            allowed = ", ".join(_ATTRIBUTES[kind])
            raise InvalidSpec(f"{field}.{key}", f"a {kind} parameter takes {allowed}; {key!r} is unknown")
    condition = parse_when(raw["when"], f"{field}.when") if "when" in raw else None
    try:
        return _build(kind, raw, field), condition
    except ParamError as error:
        raise InvalidSpec(f"{field}.{error.attr}", error.message) from error


def _build(kind: str, raw: Mapping[str, Any], field: str) -> Param:
    if kind in ("float", "int"):
        for attr in ("low", "high"):
            if attr not in raw:
                raise InvalidSpec(f"{field}.{attr}", f"a {kind} parameter needs `{attr}`")
        param_class = FloatParam if kind == "float" else IntParam
        return param_class(raw["low"], raw["high"], raw.get("scale", "linear"))
    if kind == "categorical":
        if "choices" not in raw:
            raise InvalidSpec(f"{field}.choices", "a categorical parameter needs `choices`")
        choices = raw["choices"]
        if not isinstance(choices, list | tuple):
            raise InvalidSpec(f"{field}.choices", f"`choices` must be a non-empty list, got {choices!r}")
        return CategoricalParam(tuple(choices))
    if "value" not in raw:
        raise InvalidSpec(f"{field}.value", "a fixed parameter needs `value`")
    return FixedParam(raw["value"])
