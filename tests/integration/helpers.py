"""Specs and small readers shared by the integration tests."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
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


# Many small epochs (full-batch gradient descent on iris): a trial still running when a test nudges it.
LONG_TRIAL = quick_spec(
    dataset="iris",
    space={
        "optimizer": "gd",
        "learning_rate": 0.5,
        "hidden_units": 8,
        "batch_size": 128,
        "epochs": 5000,
    },
    budget={"max_trials": 1, "max_parallel": 1},
)


def row_counts(settings: Settings) -> tuple[int, int]:
    with session_scope(settings.database_url) as session:
        searches = session.scalar(select(func.count()).select_from(Search)) or 0
        trials = session.scalar(select(func.count()).select_from(Trial)) or 0
    return searches, trials


def ask_and_tell(
    client: TestClient, search_id: int, trials: int, loss: Callable[[int, dict[str, Any]], float]
) -> None:
    """Runs `trials` trials of an external search: asks each, tells `loss(number, params)` as `loss`."""
    for number in range(trials):
        asked = client.post(f"/searches/{search_id}/ask", json={}).json()
        told = client.post(
            f"/trials/{asked['id']}/tell",
            json={"attempt": asked["attempt"], "metrics": {"loss": loss(number, asked["params"])}},
        )
        assert told.status_code == 200, told.text
