"""Rows for storage tests, written straight through the ORM."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.storage.models import Search, Trial, utcnow

RANDOM_SPEC: dict[str, Any] = {
    "name": None,
    "objective": "mlp",
    "dataset": "digits",
    "metric": "dev_accuracy",
    "direction": "maximize",
    "space": {"learning_rate": {"type": "float", "low": 0.001, "high": 0.1, "scale": "log"}, "epochs": 1},
    "strategy": {"kind": "random"},
    "pruner": {"kind": "none"},
    "budget": {"max_trials": 4, "max_parallel": 2},
    "seed": 1,
}


def add_search_with_trials(
    session: Session, n_trials: int = 1, **spec_changes: Any
) -> tuple[Search, list[Trial]]:
    now = utcnow()
    spec = {**RANDOM_SPEC, **spec_changes}
    search = Search(
        name=None,
        objective="mlp",
        dataset="digits",
        metric="dev_accuracy",
        direction=spec["direction"],
        spec=spec,
        state="running",
        seed=1,
        strategy_state={},
        created_at=now,
        updated_at=now,
    )
    session.add(search)
    session.flush()
    trials = [
        Trial(
            search_id=search.id,
            number=number,
            params={"learning_rate": 0.01, "epochs": 1},
            seed=number,
            state="queued",
            attempt=0,
            created_at=now,
            updated_at=now,
        )
        for number in range(n_trials)
    ]
    session.add_all(trials)
    session.flush()
    return search, trials
