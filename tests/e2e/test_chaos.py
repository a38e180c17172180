"""Chaos: a search runs under `caviar up` while random parts of it are SIGKILLed (a worker, the API,
the embedded Redis) or frozen for a few seconds (SIGSTOP then SIGCONT: a worker whose lease expires
while it is frozen, then wakes and tries to record its result). After each run the invariants hold:
the search finished, every trial was recorded once (one finishing event, its whole curve once), none
failed, none is stuck.

`make test` runs one seeded run on PostgreSQL; `make chaos RUNS=100` runs RUNS of them on each database
(`CAVIAR_CHAOS_RUNS`), each with its own seed. (PostgreSQL is not restarted here: it is the machine's
shared server.)
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Event, Trial, TrialMetric
from tests.e2e.up_stack import UpStack, children_of, up
from tests.integration.helpers import quick_spec

RUNS = int(os.environ.get("CAVIAR_CHAOS_RUNS", "0"))
# `make test` runs one on PostgreSQL (test_caviar_up_faults.py covers `caviar up` on SQLite);
# `make chaos` runs RUNS on each database.
BACKENDS = ["sqlite", "postgresql"] if RUNS else ["postgresql"]

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", BACKENDS, indirect=True)]
__all__ = ["up"]  # the fixture
TRIALS = 8
EPOCHS = 8
FINISHING = ("trial_completed", "trial_pruned", "trial_failed")


def strike(up: UpStack, rng: random.Random) -> str:
    """One random blow at the stack; what it was, for the failure message."""
    target = rng.choice(["worker", "worker", "freeze", "api", "redis"])
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


@pytest.mark.parametrize("run", range(RUNS or 1))
def test_a_search_under_chaos_records_every_trial_once(up: UpStack, settings: Settings, run: int) -> None:
    rng = random.Random(f"{settings.database_url.split(':')[0]}-{run}")
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
            blows.append(strike(up, rng))
    assert up.process.poll() is None, f"caviar up stopped after {blows}:\n{up.tail()}"
    assert search["state"] == "completed", (blows, search["counts"])
    counts = {state: count for state, count in search["counts"].items() if count}
    assert counts == {"completed": TRIALS}, (blows, counts)

    with session_scope(settings.database_url) as session:
        trials = session.scalars(select(Trial).where(Trial.search_id == search_id)).all()
        finishing = Counter(
            session.scalars(
                select(Event.trial_id).where(Event.search_id == search_id, Event.kind.in_(FINISHING))
            )
        )
        points: dict[int, list[tuple[str, int]]] = {}
        for trial_id, name, step in session.execute(
            select(TrialMetric.trial_id, TrialMetric.name, TrialMetric.step).where(
                TrialMetric.trial_id.in_([t.id for t in trials])
            )
        ):
            points.setdefault(trial_id, []).append((name, step))
    assert sorted(t.number for t in trials) == list(range(TRIALS)), blows
    for trial in trials:
        context: dict[str, Any] = {"blows": blows, "trial": trial.id, "attempt": trial.attempt}
        assert trial.state == "completed" and trial.value is not None, context
        assert finishing[trial.id] == 1, {**context, "finishing events": finishing[trial.id]}
        steps = Counter(step for _, step in points[trial.id])
        names = {name for name, _ in points[trial.id]}
        assert sorted(steps) == list(range(1, EPOCHS + 1)), {**context, "steps": sorted(steps)}
        assert set(steps.values()) == {len(names)}, {**context, "points per step": steps}
