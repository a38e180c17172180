"""Two ask/tell clients SIGKILLed at random while they hold trials of a worker-less search: every trial
still ends exactly once, and a killed client's late tell is refused."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Event
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.slow

TRIALS = 100
KILLS = 6
FINAL_EVENTS = ("trial_completed", "trial_failed", "trial_pruned")


@pytest.fixture
def stack_worker_count() -> int:
    return 0


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    return {"CAVIAR_LEASE_SECONDS": "2", "CAVIAR_HEARTBEAT_SECONDS": "0.5", "CAVIAR_MAX_ATTEMPTS": "10"}


def start_asker(stack: Stack, search_id: int, name: str) -> subprocess.Popen[bytes]:
    log = (stack.log_dir / f"{name}.log").open("ab")
    command = [sys.executable, "-m", "tests.e2e.asker", stack.api_url, str(search_id), name]
    return subprocess.Popen(command, env=stack.env, stdout=log, stderr=log)


def held_by(stack: Stack, search_id: int, name: str) -> list[tuple[int, int]]:
    running = httpx.get(
        f"{stack.api_url}/searches/{search_id}/trials", params={"state": "running", "limit": 500}
    ).json()["items"]
    return [(trial["id"], trial["attempt"]) for trial in running if trial["worker_id"] == name]


def test_askers_killed_mid_trial_leave_every_trial_ended_exactly_once(
    stack: Stack, settings: Settings
) -> None:
    spec = {
        "objective": "external",
        "metric": "loss",
        "direction": "minimize",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "budget": {"max_trials": TRIALS, "max_parallel": 4},
        "seed": 9,
    }
    search_id = httpx.post(f"{stack.api_url}/searches", json=spec).json()["id"]
    names = ("asker-a", "asker-b")
    askers = {name: start_asker(stack, search_id, name) for name in names}
    stranded: list[tuple[int, int]] = []
    rng = random.Random(4)
    deadline = time.monotonic() + 240
    try:
        while httpx.get(f"{stack.api_url}/searches/{search_id}").json()["state"] == "running":
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(rng.uniform(0.3, 1.0))
            name = rng.choice(names)
            if len(stranded) >= KILLS or not held_by(stack, search_id, name):
                continue
            os.kill(askers[name].pid, signal.SIGKILL)  # mid-trial: it holds one
            askers[name].wait()
            stranded += held_by(stack, search_id, name)
            askers[name] = start_asker(stack, search_id, name)
    finally:
        for process in askers.values():
            process.kill()
            process.wait()

    search = httpx.get(f"{stack.api_url}/searches/{search_id}").json()
    assert search["state"] == "completed", stack.logs()
    assert search["counts"]["completed"] + search["counts"]["failed"] == TRIALS
    with session_scope(settings.database_url) as session:
        ends = session.execute(
            select(Event.trial_id, func.count())
            .where(Event.search_id == search_id, Event.kind.in_(FINAL_EVENTS))
            .group_by(Event.trial_id)
        ).all()
    assert len(ends) == TRIALS and {count for _, count in ends} == {1}
    # A request the killed asker had already sent may still have told its run: only the runs whose lease
    # expired and whose trial was handed to another ask are late.
    handed_on = [
        (trial_id, attempt)
        for trial_id, attempt in stranded
        if httpx.get(f"{stack.api_url}/trials/{trial_id}").json()["attempt"] > attempt
    ]
    assert handed_on, f"no killed asker's trial was handed on: {stranded}"
    for trial_id, attempt in handed_on:
        late = httpx.post(
            f"{stack.api_url}/trials/{trial_id}/tell", json={"attempt": attempt, "metrics": {"loss": 0.0}}
        )
        assert late.status_code == 409, late.text
