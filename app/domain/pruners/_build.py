"""Read the user's `pruner` object into a Pruner, naming the offending `pruner.<option>` on error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.pruners._asha import AshaPruner
from app.domain.pruners._base import Direction, NoPruner, Pruner
from app.domain.pruners._median import MedianPruner
from app.domain.space._checks import check_keys, read_int
from app.errors import InvalidSpec

_OPTIONS: dict[str, tuple[str, ...]] = {
    "none": (),
    "median": ("warmup_steps", "min_trials"),
    "asha": ("reduction_factor", "min_resource", "max_resource"),
}


def build_pruner(raw: Mapping[str, Any] | None, *, direction: Direction) -> Pruner:
    """The pruner a spec asks for; None (no `pruner` in the spec) means no pruning."""
    if raw is None:
        return NoPruner()
    if not isinstance(raw, Mapping):
        raise InvalidSpec("pruner", f'`pruner` must be an object such as {{"kind": "median"}}, got {raw!r}')
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _OPTIONS:
        raise InvalidSpec("pruner.kind", f"`kind` must be one of {', '.join(_OPTIONS)}, got {kind!r}")
    if direction not in ("minimize", "maximize"):
        raise InvalidSpec("direction", f"`direction` must be minimize or maximize, got {direction!r}")
    check_keys(raw, ("kind", *_OPTIONS[kind]), "pruner", f"pruner kind {kind!r}")
    if kind == "none":
        return NoPruner()
    if kind == "median":
        return MedianPruner(
            direction,
            warmup_steps=read_int(raw, "warmup_steps", "pruner", 1, minimum=0),
            min_trials=read_int(raw, "min_trials", "pruner", 5, minimum=1),
        )
    min_resource = read_int(raw, "min_resource", "pruner", 1, minimum=1)
    max_resource = None
    if raw.get("max_resource") is not None:
        max_resource = read_int(raw, "max_resource", "pruner", None, minimum=1)
        if max_resource <= min_resource:
            raise InvalidSpec(
                "pruner.max_resource",
                f"`max_resource > min_resource` must hold, got {max_resource=}, {min_resource=}",
            )
    return AshaPruner(
        direction,
        reduction_factor=read_int(raw, "reduction_factor", "pruner", 3, minimum=2),
        min_resource=min_resource,
        max_resource=max_resource,
    )
