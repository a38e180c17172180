"""Objectives by name: the built-in ones plus those packages register under `caviar.objectives`.

Only installed code runs: a spec names an objective, never a dotted path to import.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from app.domain.catalog.objectives import BUILTIN_OBJECTIVES
from caviar import Objective

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "caviar.objectives"


def _builtin(name: str) -> Objective:
    if name == "mlp":
        from workers.objectives.mlp import mlp

        return mlp
    if name == "quadratic":
        from workers.objectives.quadratic import quadratic

        return quadratic
    raise KeyError(name)


@lru_cache(maxsize=1)
def installed_objectives() -> dict[str, Objective]:
    """Name -> objective for everything installed in this environment (a broken plugin is logged, skipped)."""
    objectives: dict[str, Objective] = {name: _builtin(name) for name in BUILTIN_OBJECTIVES}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            objectives[entry_point.name] = entry_point.load()
        except Exception:
            log.exception("objective plugin %r (%s) failed to load", entry_point.name, entry_point.value)
    return objectives


def get_objective(name: str) -> Objective:
    try:
        return installed_objectives()[name]
    except KeyError:
        raise KeyError(f"objective {name!r} is not installed on this worker") from None
