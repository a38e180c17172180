"""Search strategies: given the trials so far, propose the next configurations (ask-tell, stateless)."""

from typing import TYPE_CHECKING, Any

from app.domain.strategies._base import (
    FINISHED_STATES,
    Direction,
    Proposal,
    Strategy,
    TrialRecord,
    best_trials,
)
from app.domain.strategies._box import Box, zoom
from app.domain.strategies._build import DEFAULT_STRATEGY, build_strategy
from app.domain.strategies._grid import GridStrategy
from app.domain.strategies._simple import RandomStrategy, SobolStrategy

if TYPE_CHECKING:
    from app.domain.strategies._coarse_to_fine import CoarseToFineStrategy


def __getattr__(name: str) -> Any:
    """`CoarseToFineStrategy` on first use: its model imports SciPy, which workers load only when needed."""
    if name == "CoarseToFineStrategy":
        from app.domain.strategies._coarse_to_fine import CoarseToFineStrategy

        return CoarseToFineStrategy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_STRATEGY",
    "FINISHED_STATES",
    "Box",
    "CoarseToFineStrategy",
    "Direction",
    "GridStrategy",
    "Proposal",
    "RandomStrategy",
    "SobolStrategy",
    "Strategy",
    "TrialRecord",
    "best_trials",
    "build_strategy",
    "zoom",
]
