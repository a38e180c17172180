"""Trial outcomes recorded through the repository, so list, export and metrics tests control the data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.domain.trial_state import TrialState
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Search, utcnow
from app.storage.repositories import TrialRepository
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
    """Mark a trial finished with these final metrics, having run for `seconds`: claimed, then moved to
    `state` through the repository, as a worker's result is (so the search's counters follow)."""
    finished = at or utcnow()
    with session_scope(settings.database_url) as session:
        trials = TrialRepository(session)
        trial = trials.claim(trial_id, "test-worker", finished)
        assert trial is not None, f"trial {trial_id} is not queued"
        search = session.get(Search, trial.search_id)
        assert search is not None
        assert trials.transition(
            trial_id,
            TrialState(state),
            sources=[TrialState.RUNNING],
            metrics=metrics,
            value=value,
            metric_value=(metrics or {}).get(search.metric),
            started_at=finished - timedelta(seconds=seconds),
            finished_at=finished,
            updated_at=finished,
        )
