"""End to end: HTTP in, real worker processes, results in the database; and a worker killed mid-trial."""

from __future__ import annotations

import signal

import httpx
import pytest
from sqlalchemy import func, select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import TrialMetric
from tests.e2e.conftest import Stack, one_trial_running, wait_finished
from tests.integration.helpers import quick_spec

pytestmark = pytest.mark.slow


def test_search_submitted_over_http_is_run_by_worker_processes(stack: Stack) -> None:
    spec = quick_spec(budget={"max_trials": 6, "max_parallel": 3})
    created = httpx.post(f"{stack.api_url}/searches", json=spec)
    assert created.status_code == 201, created.text
    search = wait_finished(stack, created.json()["id"])
    assert search["state"] == "completed"
    assert search["counts"]["completed"] == 6
    best = httpx.get(f"{stack.api_url}/searches/{search['id']}/best", params={"k": 3}).json()
    values = [trial["value"] for trial in best]
    assert values == sorted(values, reverse=True) and len(values) == 3
    assert search["best"]["value"] == values[0]
    trial = httpx.get(f"{stack.api_url}/trials/{best[0]['id']}").json()
    assert [point["step"] for point in trial["curve"]] == [1, 2, 3]
    workers_seen = {
        t["worker_id"] for t in httpx.get(f"{stack.api_url}/searches/{search['id']}/trials").json()["items"]
    }
    assert len(workers_seen) >= 1


def test_trial_of_a_sigkilled_worker_is_run_again_and_recorded_once(stack: Stack, settings: Settings) -> None:
    epochs = 150
    running = one_trial_running(stack, epochs=epochs, hidden_units=128)
    running.worker.send_signal(signal.SIGKILL)
    trial_id = running.trial_id

    search = wait_finished(stack, running.search_id)
    trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
    assert search["counts"]["completed"] == 1
    assert trial["state"] == "completed"
    assert trial["attempt"] == 2
    assert f"-{running.worker.pid}-" not in trial["worker_id"]
    assert [point["step"] for point in trial["curve"]] == list(range(1, epochs + 1))
    with session_scope(settings.database_url) as session:
        points = session.scalar(
            select(func.count()).select_from(TrialMetric).where(TrialMetric.trial_id == trial_id)
        )
    assert points == epochs * len(trial["curve"][0]["metrics"])


def test_sigterm_hands_the_running_trial_back_and_the_worker_exits(stack: Stack) -> None:
    epochs = 150
    running = one_trial_running(stack, epochs=epochs, hidden_units=128)
    running.worker.send_signal(signal.SIGTERM)
    assert running.worker.wait(timeout=30) == 0, stack.logs()

    search = wait_finished(stack, running.search_id)
    trial = httpx.get(f"{stack.api_url}/trials/{running.trial_id}").json()
    assert search["counts"]["completed"] == 1
    assert (trial["state"], trial["attempt"]) == ("completed", 2)
    assert [point["step"] for point in trial["curve"]] == list(range(1, epochs + 1))
