"""Pause, resume and stop a live trial through the real path: HTTP API (uvicorn), a real worker, the SSE
feed; the trial ends exactly as an uninterrupted run of it stopped at the same epoch."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from app.domain.catalog.mlp_params import validate_params
from app.services.ask_tell import trial_seed
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import TrialCheckpoint
from caviar import CaviarClient
from tests.integration.helpers import LONG_TRIAL
from tests.integration.live_server import serve
from workers.datasets.builtin import load_builtin
from workers.nn.checkpoint import TrainingState
from workers.nn.train import Trainer
from workers.worker import run_worker

pytestmark = pytest.mark.slow

PAUSE_AT = 3
"""The epoch after whose report the test asks for the pause (the worker pauses a report or two later)."""


def pause_then_stop(
    url: str, search_id: int, trial_id: int, received: list[dict[str, Any]], stop_resumed: bool = True
) -> None:
    """Read the search's events: pause the trial after its first attempt's epoch PAUSE_AT and, with
    `stop_resumed`, stop it at the first epoch of its second attempt (after the resume). The stream ends
    with the search."""
    paused = False
    stopped = not stop_resumed
    with CaviarClient(url) as client:
        for event in client.events(search_id):
            received.append(event)
            payload = event["payload"]
            if event["kind"] != "epoch":
                continue
            if not paused and payload["attempt"] == 1 and payload["step"] == PAUSE_AT:
                paused = client.pause(trial_id)["run_request"]["action"] == "pause"
            if not stopped and payload["attempt"] == 2:
                stopped = client.stop(trial_id)["run_request"]["action"] == "stop"


def uninterrupted(trial: dict[str, Any], seed: int, epochs: int) -> Trainer:
    """The same trial trained in one go for `epochs` epochs, as the `mlp` objective builds it."""
    trainer = Trainer(
        validate_params(trial["params"]),
        load_builtin(LONG_TRIAL["dataset"], {}),
        np.random.default_rng(trial_seed(seed, trial["number"])),
    )
    for _ in range(epochs):
        trainer.run_one_epoch()
    return trainer


def final_checkpoint(settings: Settings, trial_id: int) -> tuple[int, TrainingState]:
    with session_scope(settings.database_url) as session:
        row = session.get(TrialCheckpoint, trial_id)
        assert row is not None
        return row.step, TrainingState.from_bytes(row.content)


def test_a_paused_trial_frees_its_worker_and_resumed_then_stopped_ends_as_an_uninterrupted_run(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"checkpoint_min_seconds": 0.0})  # one after every epoch
    received: list[dict[str, Any]] = []
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(LONG_TRIAL)["id"]
        [queued] = client.trials(search_id)
        trial_id = queued["id"]
        reader = threading.Thread(
            target=pause_then_stop, args=(url, search_id, trial_id, received), daemon=True
        )
        reader.start()

        # In the main thread (RQ installs signal handlers); a burst worker returns once the queue is empty.
        first_worker = run_worker(settings, burst=True)
        paused = client.trial(trial_id)
        resumed = client.resume(trial_id)
        run_worker(settings, burst=True)
        reader.join(timeout=120)
        assert not reader.is_alive(), "the event stream did not end"
        final = client.trial(trial_id)
        search = client.search(search_id)

    # The pause: the worker checkpointed after a step past PAUSE_AT, released the trial and went free.
    [pause] = [event["payload"] for event in received if event["kind"] == "trial_paused"]
    paused_at = pause["step"]
    assert PAUSE_AT < paused_at < LONG_TRIAL["space"]["epochs"]
    assert (paused["state"], paused["worker_id"], paused["run_request"]) == ("paused", None, None)
    assert [point["step"] for point in paused["curve"]] == list(range(1, paused_at + 1))
    assert first_worker.current is None
    assert resumed["state"] == "queued"
    # The resume: the next run continued from that checkpoint; the stop ended it, completed.
    [resume] = [event["payload"] for event in received if event["kind"] == "trial_resumed"]
    assert (resume["step"], resume["attempt"], resume["from_attempt"]) == (paused_at, 2, 1)
    [stop] = [event["payload"] for event in received if event["kind"] == "trial_stopped"]
    stopped_at = stop["step"]
    assert stopped_at > paused_at
    assert (final["state"], final["attempt"], final["run_request"]) == ("completed", 2, None)
    assert search["state"] == "completed"
    assert [point["step"] for point in final["curve"]] == list(range(1, stopped_at + 1))

    # Bit-identical to one uninterrupted run of the trial, stopped at the same epoch.
    whole = uninterrupted(final, LONG_TRIAL["seed"], stopped_at)
    assert {point["step"]: point["metrics"] for point in final["curve"]} == {
        record.epoch: record.as_dict() for record in whole.history
    }
    step, state = final_checkpoint(settings, trial_id)
    assert step == stopped_at
    assert np.array_equal(state.params, whole.network.params)
    assert np.array_equal(state.running, whole.network.running)
    whole.stop()
    result = whole.result()
    assert final["metrics"] == result.metrics
    # Completed with the best value so far, not the last: early stopping's best epoch.
    assert final["value"] == result.metrics["dev_accuracy"] == max(r.dev_accuracy for r in whole.history)
    assert stop["best_step"] == result.metrics["best_epoch"] <= stopped_at


def test_a_paused_trial_stopped_ends_at_its_pause_with_its_best_epoch(settings: Settings) -> None:
    received: list[dict[str, Any]] = []
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(LONG_TRIAL)["id"]
        [queued] = client.trials(search_id)
        trial_id = queued["id"]
        args = (url, search_id, trial_id, received, False)
        reader = threading.Thread(target=pause_then_stop, args=args, daemon=True)
        reader.start()
        run_worker(settings, burst=True)  # until the trial pauses
        stopping = client.stop(trial_id)
        run_worker(settings, burst=True)  # restores it and ends it at once
        reader.join(timeout=120)
        assert not reader.is_alive(), "the event stream did not end"
        final = client.trial(trial_id)

    [pause] = [event["payload"] for event in received if event["kind"] == "trial_paused"]
    [stop] = [event["payload"] for event in received if event["kind"] == "trial_stopped"]
    assert (stopping["state"], stopping["run_request"]["action"]) == ("queued", "stop")
    assert stop["step"] == pause["step"]
    assert (final["state"], final["attempt"]) == ("completed", 2)
    assert [point["step"] for point in final["curve"]] == list(range(1, pause["step"] + 1))
    assert not [event for event in received if event["kind"] == "epoch" and event["payload"]["attempt"] == 2]
    whole = uninterrupted(final, LONG_TRIAL["seed"], pause["step"])
    whole.stop()
    assert final["metrics"] == whole.result().metrics
