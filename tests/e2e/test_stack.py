"""End to end: HTTP in, real worker processes, results in the database; and a worker killed mid-trial."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from sqlalchemy import func, select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import TrialMetric
from tests.e2e.conftest import Stack, wait_finished
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
    spec = quick_spec(budget={"max_trials": 1, "max_parallel": 1})
    spec["space"].update(epochs=epochs, batch_size=16, hidden_units=256)
    search_id = httpx.post(f"{stack.api_url}/searches", json=spec).json()["id"]
    trial_id = httpx.get(f"{stack.api_url}/searches/{search_id}/trials").json()["items"][0]["id"]
    deadline = time.monotonic() + 60
    while True:
        trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
        if trial["state"] == "running" and trial["curve"]:
            break
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.05)
    victim_pid = int(trial["worker_id"].split("-")[-2])
    assert victim_pid in {worker.pid for worker in stack.workers}
    os.kill(victim_pid, signal.SIGKILL)

    search = wait_finished(stack, search_id)
    trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
    assert search["counts"]["completed"] == 1
    assert trial["state"] == "completed"
    assert trial["attempt"] == 2
    assert trial["worker_id"] != f"{victim_pid}"
    assert [point["step"] for point in trial["curve"]] == list(range(1, epochs + 1))
    with session_scope(settings.database_url) as session:
        points = session.scalar(
            select(func.count()).select_from(TrialMetric).where(TrialMetric.trial_id == trial_id)
        )
    assert points == epochs * len(trial["curve"][0]["metrics"])


def test_sigterm_hands_the_running_trial_back_and_the_worker_exits(stack: Stack) -> None:
    epochs = 150
    spec = quick_spec(budget={"max_trials": 1, "max_parallel": 1})
    spec["space"].update(epochs=epochs, batch_size=16, hidden_units=256)
    search_id = httpx.post(f"{stack.api_url}/searches", json=spec).json()["id"]
    trial_id = httpx.get(f"{stack.api_url}/searches/{search_id}/trials").json()["items"][0]["id"]
    deadline = time.monotonic() + 60
    while True:
        trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
        if trial["state"] == "running" and trial["curve"]:
            break
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.05)
    victim = next(w for w in stack.workers if w.pid == int(trial["worker_id"].split("-")[-2]))
    victim.send_signal(signal.SIGTERM)
    assert victim.wait(timeout=30) == 0, stack.logs()

    search = wait_finished(stack, search_id)
    trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
    assert search["counts"]["completed"] == 1
    assert (trial["state"], trial["attempt"]) == ("completed", 2)
    assert [point["step"] for point in trial["curve"]] == list(range(1, epochs + 1))
