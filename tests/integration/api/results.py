"""Write trial outcomes straight into the database, so list, export and metrics tests control the data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial, utcnow
from tests.integration.helpers import quick_spec


def queued_search(client: TestClient, n_trials: int, **spec_changes: Any) -> tuple[int, list[dict[str, Any]]]:
    """A search whose `n_trials` trials are all queued at once (max_parallel = max_trials)."""
    spec = quick_spec(budget={"max_trials": n_trials, "max_parallel": n_trials}, **spec_changes)
    response = client.post("/searches", json=spec)
    assert response.status_code == 201, response.text
    search_id = response.json()["id"]
    trials = client.get(f"/searches/{search_id}/trials", params={"limit": 500}).json()["items"]
    return search_id, trials


def record(
    settings: Settings,
    trial_id: int,
    *,
    state: str = "completed",
    metrics: dict[str, float | None] | None = None,
    value: float | None = None,
    seconds: float = 1.0,
    at: datetime | None = None,
) -> None:
    """Mark a trial finished with these final metrics, having run for `seconds`."""
    finished = at or utcnow()
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Trial)
            .where(Trial.id == trial_id)
            .values(
                state=state,
                metrics=metrics,
                value=value,
                attempt=1,
                started_at=finished - timedelta(seconds=seconds),
                finished_at=finished,
                updated_at=finished,
            )
        )
