"""Pruners: stop unpromising trials early from their learning curves."""

from app.domain.pruners._asha import AshaPruner
from app.domain.pruners._base import CurveRecord, NoPruner, Pruner
from app.domain.pruners._build import build_pruner
from app.domain.pruners._median import MedianPruner

__all__ = ["AshaPruner", "CurveRecord", "MedianPruner", "NoPruner", "Pruner", "build_pruner"]
