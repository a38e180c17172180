"""End to end: a worker SIGKILLed at epoch ~20 of 30; another resumes the trial from its checkpoint and
ends with the weights and metrics of an uninterrupted run."""

from __future__ import annotations

import signal
import time
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Event
from app.storage.repositories import CheckpointRepository
from tests.e2e.conftest import Stack, wait_finished
from tests.integration.helpers import quick_spec
from workers.nn.checkpoint import TrainingState

pytestmark = [
    pytest.mark.slow,
    # The production layout; storing, fencing and handing over checkpoints are tested on both databases
    # in tests/integration/storage/test_checkpoints.py.
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

EPOCHS = 30
KILL_AFTER = 20


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    """A checkpoint after every epoch: the default time floor (10 s) would leave none in a 1.5 s run."""
    return {"CAVIAR_CHECKPOINT_MIN_SECONDS": "0"}


def _spec() -> dict[str, Any]:
    """One trial, about 50 ms an epoch: batches of 2 make epochs slow enough to kill one mid-run."""
    spec = quick_spec(budget={"max_trials": 1, "max_parallel": 1}, seed=11)
    spec["space"].update(
        epochs=EPOCHS,
        batch_size=2,
        hidden_units=16,
        batch_norm=True,
        keep_prob=0.9,
        l2=0.001,
        lr_decay="inverse_time",
        decay_rate=0.1,
    )
    return spec


def _submit(stack: Stack) -> tuple[int, int]:
    search_id = httpx.post(f"{stack.api_url}/searches", json=_spec()).json()["id"]
    trial_id = httpx.get(f"{stack.api_url}/searches/{search_id}/trials").json()["items"][0]["id"]
    return search_id, trial_id


def _checkpoint(settings: Settings, trial_id: int) -> tuple[int, bytes] | None:
    with session_scope(settings.database_url) as session:
        row = CheckpointRepository(session).latest(trial_id)
        return None if row is None else (row.step, row.content)


def _worker_of(stack: Stack, trial_id: int) -> Any:
    worker_id = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()["worker_id"]
    pid = int(worker_id.split("-")[-2])
    return next(worker for worker in stack.workers if worker.pid == pid)


def test_a_trial_whose_worker_is_killed_resumes_from_its_checkpoint_and_ends_as_if_uninterrupted(
    stack: Stack, settings: Settings
) -> None:
    whole_search, whole_trial = _submit(stack)
    assert wait_finished(stack, whole_search)["state"] == "completed"
    whole = httpx.get(f"{stack.api_url}/trials/{whole_trial}").json()

    search_id, trial_id = _submit(stack)
    deadline = time.monotonic() + 60
    while (saved := _checkpoint(settings, trial_id)) is None or saved[0] < KILL_AFTER:
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.01)
    killed = _worker_of(stack, trial_id)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    killed_at = _checkpoint(settings, trial_id)
    assert killed_at is not None and KILL_AFTER <= killed_at[0] < EPOCHS, "the kill came too late"

    assert wait_finished(stack, search_id)["state"] == "completed"
    trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
    with session_scope(settings.database_url) as session:
        resumed = session.scalars(
            select(Event).where(Event.trial_id == trial_id, Event.kind == "trial_resumed")
        ).one()

    assert (trial["state"], trial["attempt"]) == ("completed", 2)
    assert f"-{killed.pid}-" not in trial["worker_id"]
    assert resumed.payload["step"] == killed_at[0]
    assert resumed.payload["attempt"] == 2
    assert [point["step"] for point in trial["curve"]] == list(range(1, EPOCHS + 1))
    assert trial["curve"] == whole["curve"]
    assert trial["metrics"] == whole["metrics"]
    assert trial["value"] == whole["value"]
    final, final_whole = _checkpoint(settings, trial_id), _checkpoint(settings, whole_trial)
    assert final is not None and final_whole is not None and final[0] == final_whole[0] == EPOCHS
    weights, weights_whole = TrainingState.from_bytes(final[1]), TrainingState.from_bytes(final_whole[1])
    assert np.array_equal(weights.params, weights_whole.params)
    assert np.array_equal(weights.running, weights_whole.running)
