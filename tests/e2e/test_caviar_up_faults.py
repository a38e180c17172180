"""`caviar up` keeps the service up when a piece of it dies: the embedded Redis or the API SIGKILLed
mid-search is started again, the workers wait for it, and the search finishes with no trial failed."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.e2e.up_stack import UpStack, children_of, up
from tests.integration.helpers import quick_spec

pytestmark = [
    pytest.mark.slow,
    # One database is enough: `caviar up`'s own database; the chaos test runs the faults on both.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
__all__ = ["up"]  # the fixture


def test_a_killed_redis_and_a_killed_api_come_back_and_no_trial_fails(up: UpStack) -> None:
    spec = quick_spec(budget={"max_trials": 6, "max_parallel": 2})
    spec["space"].update(epochs=10, batch_size=16)
    search_id = httpx.post(f"{up.api_url}/searches", json=spec).json()["id"]
    deadline = time.monotonic() + 60
    while not up.get(f"/searches/{search_id}")["counts"].get("running"):
        assert time.monotonic() < deadline, up.log.read_text(errors="replace")[-5000:]
        time.sleep(0.1)

    [redis_pid] = children_of(up.process.pid, "redis-server")
    os.kill(redis_pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not [pid for pid in children_of(up.process.pid, "redis-server") if pid != redis_pid]:
        assert time.monotonic() < deadline, "the embedded Redis was not started again"
        time.sleep(0.2)

    [api_pid] = children_of(up.process.pid, " api ")
    os.kill(api_pid, signal.SIGKILL)
    up.get("/healthz")  # answers again: restarted

    deadline = time.monotonic() + 240
    while (search := up.get(f"/searches/{search_id}"))["state"] == "running":
        assert time.monotonic() < deadline, up.log.read_text(errors="replace")[-5000:]
        time.sleep(0.5)
    assert up.process.poll() is None, "caviar up stopped"
    counts = search["counts"]
    assert not counts.get("failed") and counts.get("completed", 0) + counts.get("pruned", 0) == 6, counts
    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=30) == 0
