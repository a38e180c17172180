"""With the shipped defaults (not the tests' short leases), a SIGKILLed worker's trial runs again on
the other worker within 15 seconds, and is recorded once."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from app.settings import Settings
from tests.e2e.conftest import Stack, one_trial_running, wait_finished

pytestmark = [
    pytest.mark.slow,
    # One database is enough: leases expire alike on both (tests/integration/storage checks each).
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

REQUEUE_GOAL_SECONDS = 15.0


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    defaults = Settings.model_fields
    return {
        f"CAVIAR_{name.upper()}": str(defaults[name].default)
        for name in ("lease_seconds", "heartbeat_seconds", "reconcile_seconds")
    }


def test_a_killed_workers_trial_runs_again_within_15_seconds_with_the_default_leases(stack: Stack) -> None:
    running = one_trial_running(stack, epochs=60, hidden_units=128)
    running.worker.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    trial_id, search_id = running.trial_id, running.search_id

    while True:
        trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
        if trial["attempt"] == 2 and trial["state"] in ("running", "completed"):
            break
        assert time.monotonic() - killed_at < 60, stack.logs()
        time.sleep(0.1)
    requeued_after = time.monotonic() - killed_at
    assert requeued_after <= REQUEUE_GOAL_SECONDS, f"running again {requeued_after:.1f} s after the kill"

    search = wait_finished(stack, search_id)
    assert search["counts"] == {"completed": 1} or search["counts"].get("completed") == 1
    trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
    assert trial["attempt"] == 2 and [p["step"] for p in trial["curve"]] == list(range(1, 61))
