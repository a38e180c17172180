"""Chaos: a search runs under `caviar up` while random parts of it are SIGKILLed (a worker, the API,
the embedded Redis), frozen for a few seconds (SIGSTOP then SIGCONT: a worker whose lease expires
while it is frozen, then wakes and tries to record its result) or, on PostgreSQL, the database server
is restarted (crash-like, down for up to 5 s). After each run the invariants hold: the search finished,
every trial was recorded once (one finishing event, its whole curve once), none failed, none is stuck.

The PostgreSQL runs use a private cluster (tests/e2e/private_postgres.py), not the machine's shared
server, so restarting it disturbs no other test. `make test` runs three seeded runs (two on PostgreSQL,
one on SQLite); `make chaos RUNS=100` runs RUNS of them on each database (`CAVIAR_CHAOS_RUNS`), each
with its own seed.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.conftest import sqlite_database
from tests.e2e.invariants import assert_every_trial_recorded_once
from tests.e2e.private_postgres import PrivatePostgres, private_database_url, private_postgres
from tests.e2e.up_stack import UpStack, children_of, up
from tests.integration.helpers import quick_spec

log = logging.getLogger(__name__)
RUNS = int(os.environ.get("CAVIAR_CHAOS_RUNS", "0"))
# `make test` runs a few: two on PostgreSQL, whose blows include restarting the server, and one on
# SQLite; `make chaos` runs RUNS on each database.
CASES = (
    [(backend, run) for backend in ("sqlite", "postgresql") for run in range(RUNS)]
    if RUNS
    else [("sqlite", 0), ("postgresql", 0), ("postgresql", 1)]
)

pytestmark = pytest.mark.slow
__all__ = ["private_database_url", "private_postgres", "up"]  # the fixtures
TRIALS = 8
EPOCHS = 8


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """SQLite, or a new database on the private PostgreSQL cluster, which the test may restart."""
    if request.param == "postgresql":
        yield request.getfixturevalue("private_database_url")
        return
    with sqlite_database(tmp_path, sqlite_template) as url:
        yield url


def strike(up: UpStack, postgres: PrivatePostgres | None, rng: random.Random) -> str:
    """One random blow at the stack (`postgres`: the database server, if it may be restarted); what it
    was, for the failure message."""
    target = rng.choice(
        ["worker", "worker", "freeze", "api", "redis", *(["postgres"] * 2 if postgres else [])]
    )
    if target == "postgres":
        assert postgres is not None
        down_seconds = rng.uniform(0.0, 5.0)
        if not postgres.restart_in_background(down_seconds):
            return "postgres: already restarting"
        return f"restarted postgres, down {down_seconds:.1f} s"
    needle = {"worker": " worker", "freeze": " worker", "api": " api ", "redis": "redis-server"}[target]
    pids = children_of(up.process.pid, needle)
    if not pids:
        return f"{target}: none running"
    pid = rng.choice(pids)
    if target == "freeze":
        os.kill(pid, signal.SIGSTOP)
        time.sleep(rng.uniform(3.0, 8.0))  # past the 5 s lease, some of the time
        os.kill(pid, signal.SIGCONT)
        return f"froze worker {pid}"
    os.kill(pid, signal.SIGKILL)
    return f"killed {target} {pid}"


@pytest.mark.parametrize(("database_url", "run"), CASES, indirect=["database_url"])
def test_a_search_under_chaos_records_every_trial_once(
    up: UpStack, settings: Settings, request: pytest.FixtureRequest, run: int
) -> None:
    on_postgres = settings.database_url.startswith("postgresql")
    postgres = request.getfixturevalue("private_postgres") if on_postgres else None
    rng = random.Random(f"{'postgresql' if on_postgres else 'sqlite'}-{run}")
    spec = quick_spec(budget={"max_trials": TRIALS, "max_parallel": 3})
    spec["space"].update(epochs=EPOCHS, batch_size=16)
    spec["pruner"] = {"kind": "none"}
    # Sent again if the API is away; the idempotency key makes that one search, not two.
    headers = {"Idempotency-Key": f"chaos-{run}"}
    search_id = up.get_ok(
        lambda: httpx.post(f"{up.api_url}/searches", json=spec, headers=headers, timeout=10)
    )["id"]

    blows: list[str] = []
    deadline = time.monotonic() + 300
    while (search := up.get(f"/searches/{search_id}"))["state"] == "running":
        assert time.monotonic() < deadline, f"not finished after {blows}:\n{up.tail()}"
        time.sleep(rng.uniform(0.5, 3.0))
        if len(blows) < 6:
            blows.append(strike(up, postgres, rng))
    if postgres is not None:
        postgres.wait_restarted()
    log.info("run %d: blows %s", run, blows)
    assert up.process.poll() is None, f"caviar up stopped after {blows}:\n{up.tail()}"
    assert search["state"] == "completed", (blows, search["counts"])
    counts = {state: count for state, count in search["counts"].items() if count}
    assert counts == {"completed": TRIALS}, (blows, counts)

    assert_every_trial_recorded_once(
        settings.database_url, search_id, trials=TRIALS, epochs=EPOCHS, blows=blows
    )
