"""Specs and small readers shared by the integration tests."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Search, Trial


def quick_spec(**changes: Any) -> dict[str, Any]:
    """A small random search on digits whose trials train in a fraction of a second."""
    spec: dict[str, Any] = {
        "name": "quick",
        "objective": "mlp",
        "dataset": "digits",
        "metric": "dev_accuracy",
        "direction": "maximize",
        "space": {
            "learning_rate": {"type": "float", "low": 0.001, "high": 0.05, "scale": "log"},
            "hidden_units": {"type": "int", "low": 16, "high": 64, "scale": "log"},
            "optimizer": "adam",
            "epochs": 3,
            "batch_size": 64,
        },
        "strategy": {"kind": "random"},
        "budget": {"max_trials": 4, "max_parallel": 2},
        "seed": 3,
    }
    for key, value in changes.items():
        spec[key] = value
    return copy.deepcopy(spec)


def row_counts(settings: Settings) -> tuple[int, int]:
    with session_scope(settings.database_url) as session:
        searches = session.scalar(select(func.count()).select_from(Search)) or 0
        trials = session.scalar(select(func.count()).select_from(Trial)) or 0
    return searches, trials
