"""A worker SIGKILLed while it holds trials claimed ahead (prefetched) loses none of them: the leases of
all it held expire, the reconciler re-queues them, and every trial ends completed exactly once. One
stopped with SIGTERM hands them all back at once."""

from __future__ import annotations

import signal
import time

import httpx
import pytest
from sqlalchemy import select

from app.storage.db import session_scope
from app.storage.models import Trial
from tests.e2e.conftest import Stack, wait_finished
from tests.e2e.invariants import assert_every_trial_recorded_once
from tests.integration.helpers import quick_spec

pytestmark = pytest.mark.slow

TRIALS = 10
EPOCHS = 40
HELD_AHEAD = 4


@pytest.fixture
def stack_worker_count() -> int:
    return 1


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    # Every trial counts as cheap, and the worker holds HELD_AHEAD trials ahead of the one it runs.
    return {
        "CAVIAR_WORKER_PREFETCH": str(HELD_AHEAD),
        "CAVIAR_CHEAP_TRIAL_SECONDS": "600",
        "CAVIAR_PREFETCH_SECONDS": "600",
    }


def held_by(database_url: str, search_id: int) -> dict[str, list[tuple[int, int]]]:
    """Running trials of the search by worker: (trial id, attempt)."""
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Trial.id, Trial.attempt, Trial.worker_id).where(
                Trial.search_id == search_id, Trial.state == "running"
            )
        ).all()
    held: dict[str, list[tuple[int, int]]] = {}
    for trial_id, attempt, worker_id in rows:
        held.setdefault(worker_id, []).append((trial_id, attempt))
    return held


def submit_and_wait_until_trials_are_held(stack: Stack, database_url: str) -> int:
    spec = quick_spec(budget={"max_trials": TRIALS, "max_parallel": TRIALS})
    spec["space"].update(epochs=EPOCHS, batch_size=16)
    search_id: int = httpx.post(f"{stack.api_url}/searches", json=spec).json()["id"]
    (worker,) = stack.workers
    deadline = time.monotonic() + 120
    while True:  # after its first trial, the worker claims the next one and HELD_AHEAD more
        held = held_by(database_url, search_id)
        if any(len(runs) >= 1 + HELD_AHEAD for runs in held.values()):
            return search_id
        assert worker.poll() is None and time.monotonic() < deadline, (held, stack.logs())
        time.sleep(0.02)


def test_a_worker_stopped_holding_prefetched_trials_hands_them_back(stack: Stack, database_url: str) -> None:
    search_id = submit_and_wait_until_trials_are_held(stack, database_url)
    (worker,) = stack.workers
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, stack.logs()
    # Back in the queue at once (no lease had to expire): nothing of the search is running.
    assert held_by(database_url, search_id) == {}, stack.logs()
    stack.start_worker()
    assert wait_finished(stack, search_id)["state"] == "completed", stack.logs()
    assert_every_trial_recorded_once(database_url, search_id, trials=TRIALS, epochs=EPOCHS, blows=["SIGTERM"])


def test_a_worker_killed_holding_prefetched_trials_loses_none(stack: Stack, database_url: str) -> None:
    search_id = submit_and_wait_until_trials_are_held(stack, database_url)
    (worker,) = stack.workers
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    (runs,) = [runs for runs in held_by(database_url, search_id).values() if len(runs) > 1]
    assert len(runs) >= 1 + HELD_AHEAD, runs

    stack.start_worker()
    search = wait_finished(stack, search_id)
    assert search["state"] == "completed", stack.logs()
    assert_every_trial_recorded_once(
        database_url, search_id, trials=TRIALS, epochs=EPOCHS, blows=[f"SIGKILL holding {runs}"]
    )
    with session_scope(database_url) as session:
        attempts = dict(
            session.execute(select(Trial.id, Trial.attempt).where(Trial.search_id == search_id)).all()
        )
    # Each trial it held ran again after the kill, under a new claim.
    assert all(attempts[trial_id] == attempt + 1 for trial_id, attempt in runs), (runs, attempts)
