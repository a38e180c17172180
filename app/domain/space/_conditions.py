"""Conditional parameters: `"when": {"optimizer": ["adam", "rmsprop"]}` makes a parameter exist only then."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.space._checks import value_key
from app.domain.space._choice import CategoricalParam, FixedParam
from app.errors import InvalidSpec


@dataclass(frozen=True)
class Condition:
    """Holds when every referenced parameter is present and takes one of its allowed values."""

    allowed: tuple[tuple[str, tuple[Any, ...]], ...]

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.allowed)

    def holds(self, params: Mapping[str, Any]) -> bool:
        for name, values in self.allowed:
            if name not in params:
                return False
            if value_key(params[name]) not in {value_key(value) for value in values}:
                return False
        return True

    def to_spec(self) -> dict[str, list[Any]]:
        return {name: list(values) for name, values in self.allowed}


def parse_when(raw: Any, field: str) -> Condition:
    """Read a `when` object; references are checked later, once every parameter is known."""
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidSpec(
            field, f'`when` must be a non-empty object such as {{"optimizer": ["adam"]}}, got {raw!r}'
        )
    allowed = []
    for name, values in raw.items():
        if not isinstance(values, list | tuple):
            values = [values]
        if not values:
            raise InvalidSpec(f"{field}.{name}", "needs at least one allowed value")
        allowed.append((str(name), tuple(values)))
    return Condition(tuple(allowed))


def check_references(name: str, condition: Condition, params: Mapping[str, Any]) -> None:
    """Every reference must name a categorical or fixed parameter, and every allowed value be one it takes."""
    for reference, values in condition.allowed:
        field = f"space.{name}.when.{reference}"
        if reference == name:
            raise InvalidSpec(field, f"{name!r} cannot depend on itself")
        target = params.get(reference)
        if target is None:
            raise InvalidSpec(field, f"`when` refers to {reference!r}, which is not a parameter of the space")
        if isinstance(target, CategoricalParam):
            takes = list(target.choices)
        elif isinstance(target, FixedParam):
            takes = [target.value]
        else:
            raise InvalidSpec(
                field,
                f"`when` may refer to categorical or fixed parameters only; {reference!r} is a {target.type}",
            )
        for value in values:
            if value_key(value) not in {value_key(option) for option in takes}:
                raise InvalidSpec(field, f"{value!r} is not one of the values {reference!r} takes: {takes!r}")


def activation_order(names: Iterable[str], conditions: Mapping[str, Condition]) -> tuple[str, ...]:
    """Names ordered so that each comes after the parameters its condition reads; InvalidSpec on a cycle."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join((*path[path.index(name) :], name))
            raise InvalidSpec(f"space.{path[-1]}.when", f"conditions must not form a cycle: {cycle}")
        state[name] = "visiting"
        condition = conditions.get(name)
        for reference in condition.references if condition else ():
            visit(reference, (*path, name))
        state[name] = "done"
        order.append(name)

    for name in names:
        visit(name, ())
    return tuple(order)
