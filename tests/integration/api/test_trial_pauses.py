"""POST /trials/{id}/pause, /resume, /stop: the API's side, and the worker's side driven step by step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.domain.trial_state import TrialState
from app.queue import TrialJob, jobs_alive, trial_queues
from app.services.ask_tell import advance_search
from app.services.reconcile import expire_leases, lost_jobs
from app.services.trial_pauses import pause_run
from app.services.trial_runs import ClaimedRun, Outcome, claim_trial, finish_trial, record_epoch, run_of
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Event, TrialCheckpoint, utcnow
from app.storage.repositories import SearchRepository, TrialRepository
from tests.integration.api.test_ask_tell_http import external_spec
from tests.integration.api.test_error_shape import assert_error_shape
from tests.integration.api.test_trial_controls import ADAM, running_trial
from tests.integration.helpers import quick_spec

ONE_TRIAL = quick_spec(
    space={"learning_rate": 0.01, "hidden_units": 16, "optimizer": "adam", "epochs": 3},
    budget={"max_trials": 1, "max_parallel": 1},
)


def queued_trial(client: TestClient, spec: dict[str, Any] = ONE_TRIAL) -> tuple[int, int]:
    """(search id, trial id) of a new search's first trial: queued."""
    search_id = client.post("/searches", json=spec).json()["id"]
    trial_id: int = client.get(f"/searches/{search_id}/trials").json()["items"][0]["id"]
    return search_id, trial_id


def claimed(settings: Settings, trial_id: int) -> ClaimedRun:
    with session_scope(settings.database_url) as session:
        run = claim_trial(session, trial_id, "worker-1")
    assert run is not None
    return run


def report(settings: Settings, run: ClaimedRun, step: int, checkpoint: bytes | None = None) -> Any:
    with session_scope(settings.database_url) as session:
        return record_epoch(session, run, step, {"dev_accuracy": 0.5 + step / 100}, {}, checkpoint)


def kinds(settings: Settings, trial_id: int) -> list[str]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Event.kind).where(Event.trial_id == trial_id).order_by(Event.id)))


def event(settings: Settings, trial_id: int, kind: str) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        found = session.scalars(select(Event).where(Event.trial_id == trial_id, Event.kind == kind)).one()
        return dict(found.payload)


def paused_after(client: TestClient, settings: Settings, step: int = 2) -> tuple[ClaimedRun, int]:
    """A trial run for `step` epochs, then paused by its worker with a checkpoint: (the run, trial id)."""
    trial_id, run = running_run(client, settings)
    for done in range(1, step):
        report(settings, run, done)
    assert client.post(f"/trials/{trial_id}/pause", json={}).status_code == 202
    verdict = report(settings, run, step)
    assert verdict.run_request["action"] == "pause"
    with session_scope(settings.database_url) as session:
        assert pause_run(session, run, step, b"state after step", verdict.run_request) == []
    assert client.get(f"/trials/{trial_id}").json()["state"] == "paused"
    return run, trial_id


def running_run(client: TestClient, settings: Settings) -> tuple[int, ClaimedRun]:
    """A running trial's id, and the run that holds it."""
    trial_id = running_trial(client, settings)
    return trial_id, _run_of(settings, trial_id)


def _run_of(settings: Settings, trial_id: int) -> ClaimedRun:
    """The run `running_trial` claimed."""
    with session_scope(settings.database_url) as session:
        trial = TrialRepository(session).get(trial_id)
        assert trial is not None
        search = SearchRepository(session).get(trial.search_id)
        assert search is not None
        return run_of(trial, search, trial.attempt)


def test_pausing_a_running_trial_is_asked_of_its_worker_through_the_next_epoch_report(
    client: TestClient, settings: Settings
) -> None:
    trial_id, run = running_run(client, settings)

    first = client.post(f"/trials/{trial_id}/pause", json={})
    again = client.post(f"/trials/{trial_id}/pause", json={})

    assert first.status_code == again.status_code == 202, first.text
    assert first.json()["state"] == "running"
    request = first.json()["run_request"]
    assert request["action"] == "pause" and request["by"] == "anyone"
    assert again.json()["run_request"] == request  # a repeat asks nothing new
    assert client.get(f"/trials/{trial_id}").json()["run_request"] == request
    verdict = report(settings, run, 1)
    assert verdict.run_request is not None and verdict.run_request["action"] == "pause"


def test_a_paused_run_releases_its_trial_with_a_checkpoint_and_an_event(
    client: TestClient, settings: Settings
) -> None:
    run, trial_id = paused_after(client, settings, step=2)

    trial = client.get(f"/trials/{trial_id}").json()
    assert (trial["state"], trial["worker_id"], trial["run_request"]) == ("paused", None, None)
    assert [point["step"] for point in trial["curve"]] == [1, 2]
    with session_scope(settings.database_url) as session:
        checkpoint = session.get(TrialCheckpoint, trial_id)
        assert checkpoint is not None and (checkpoint.step, checkpoint.content) == (2, b"state after step")
    assert event(settings, trial_id, "trial_paused") == {"attempt": run.attempt, "step": 2, "by": "anyone"}
    repeated = client.post(f"/trials/{trial_id}/pause", json={})
    assert repeated.status_code == 200 and repeated.json()["state"] == "paused"
    # Its worker's late epoch report is refused: the claim went with the pause.
    assert report(settings, run, 3).claim_lost


def test_pausing_a_queued_trial_pauses_it_at_once_and_its_job_claims_nothing(
    client: TestClient, settings: Settings
) -> None:
    _, trial_id = queued_trial(client)

    response = client.post(f"/trials/{trial_id}/pause", json={})

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "paused" and response.json()["run_request"] is None
    assert event(settings, trial_id, "trial_paused")["step"] is None
    with session_scope(settings.database_url) as session:
        assert claim_trial(session, trial_id, "worker-1") is None


def test_resume_queues_a_paused_trial_and_the_next_claim_continues_from_its_checkpoint(
    client: TestClient, settings: Settings
) -> None:
    run, trial_id = paused_after(client, settings, step=2)

    resumed = client.post(f"/trials/{trial_id}/resume", json={})
    again = client.post(f"/trials/{trial_id}/resume", json={})

    assert resumed.status_code == again.status_code == 200, resumed.text
    assert resumed.json()["state"] == again.json()["state"] == "queued"
    assert event(settings, trial_id, "trial_requeued") == {"reason": "resumed", "by": "anyone"}
    assert settings.redis_url is not None
    queues = trial_queues(settings.redis_url, settings.queue_name)
    assert jobs_alive(queues, [TrialJob(trial_id, run.attempt, "mlp")]) == [True]
    next_run = claimed(settings, trial_id)
    assert next_run.attempt == run.attempt + 1
    assert next_run.resume is not None and next_run.resume.step == 2
    assert event(settings, trial_id, "trial_resumed")["step"] == 2


def test_resume_calls_off_a_pause_not_done_yet(client: TestClient, settings: Settings) -> None:
    trial_id = running_trial(client, settings)
    client.post(f"/trials/{trial_id}/pause", json={})

    response = client.post(f"/trials/{trial_id}/resume", json={})

    assert response.status_code == 200 and response.json()["run_request"] is None
    assert report(settings, _run_of(settings, trial_id), 1).run_request is None


def test_stop_is_asked_of_a_running_trial_and_its_completion_records_trial_stopped(
    client: TestClient, settings: Settings
) -> None:
    trial_id, run = running_run(client, settings)

    asked = client.post(f"/trials/{trial_id}/stop", json={})
    assert asked.status_code == 202 and asked.json()["run_request"]["action"] == "stop"
    assert client.post(f"/trials/{trial_id}/stop", json={}).status_code == 202
    verdict = report(settings, run, 1)
    assert verdict.run_request["action"] == "stop"
    stopped = {"step": 1, "best_step": 1, "by": "anyone"}
    with session_scope(settings.database_url) as session:
        outcome = Outcome(TrialState.COMPLETED, {"dev_accuracy": 0.51}, value=0.51, stopped=stopped)
        finish_trial(session, run, outcome)

    trial = client.get(f"/trials/{trial_id}").json()
    assert (trial["state"], trial["value"], trial["run_request"]) == ("completed", 0.51, None)
    assert kinds(settings, trial_id)[-2:] == ["trial_stopped", "trial_completed"]
    assert event(settings, trial_id, "trial_stopped") == {"attempt": run.attempt, **stopped}
    repeated = client.post(f"/trials/{trial_id}/stop", json={})
    assert repeated.status_code == 200 and repeated.json()["state"] == "completed"


def test_stopping_a_paused_trial_queues_it_to_end_as_soon_as_a_worker_restores_it(
    client: TestClient, settings: Settings
) -> None:
    _, trial_id = paused_after(client, settings, step=2)

    response = client.post(f"/trials/{trial_id}/stop", json={})

    assert response.status_code == 202
    assert response.json()["state"] == "queued" and response.json()["run_request"]["action"] == "stop"
    assert client.post(f"/trials/{trial_id}/stop", json={}).status_code == 202
    run = claimed(settings, trial_id)
    assert run.run_request is not None and run.run_request["action"] == "stop"
    assert run.resume is not None and run.resume.step == 2


def test_a_pause_that_comes_too_late_records_the_completion_once(
    client: TestClient, settings: Settings
) -> None:
    trial_id, run = running_run(client, settings)
    report(settings, run, 1)
    assert client.post(f"/trials/{trial_id}/pause", json={}).status_code == 202  # after the last report

    with session_scope(settings.database_url) as session:
        finish_trial(session, run, Outcome(TrialState.COMPLETED, {"dev_accuracy": 0.5}, value=0.5))
    with session_scope(settings.database_url) as session:
        assert pause_run(session, run, 1, b"late", {"by": "anyone"}) == []

    trial = client.get(f"/trials/{trial_id}").json()
    assert (trial["state"], trial["run_request"]) == ("completed", None)
    assert kinds(settings, trial_id).count("trial_completed") == 1
    assert "trial_paused" not in kinds(settings, trial_id)
    assert client.post(f"/trials/{trial_id}/pause", json={}).status_code == 409


@pytest.mark.parametrize("then", ["resume", "stop"])
def test_a_pause_called_off_while_its_run_checkpoints_hands_the_run_back_to_the_queue(
    client: TestClient, settings: Settings, then: str
) -> None:
    trial_id, run = running_run(client, settings)
    client.post(f"/trials/{trial_id}/pause", json={})
    verdict = report(settings, run, 1)  # the worker learns of the pause and stops training for it
    client.post(f"/trials/{trial_id}/{then}", json={})  # before it records the pause

    with session_scope(settings.database_url) as session:
        jobs = pause_run(session, run, 1, b"after step 1", verdict.run_request)

    assert jobs == [TrialJob(trial_id, run.attempt, "mlp")]
    trial = client.get(f"/trials/{trial_id}").json()
    assert trial["state"] == "queued"
    assert (trial["run_request"] or {}).get("action") == ("stop" if then == "stop" else None)
    assert "trial_paused" not in kinds(settings, trial_id)
    next_run = claimed(settings, trial_id)
    assert next_run.resume is not None and next_run.resume.content == b"after step 1"


def test_a_result_that_comes_after_the_pause_is_ignored(client: TestClient, settings: Settings) -> None:
    run, trial_id = paused_after(client, settings, step=1)

    with session_scope(settings.database_url) as session:
        finish_trial(session, run, Outcome(TrialState.COMPLETED, {"dev_accuracy": 0.9}, value=0.9))

    trial = client.get(f"/trials/{trial_id}").json()
    assert (trial["state"], trial["value"]) == ("paused", None)
    assert "trial_completed" not in kinds(settings, trial_id)


@pytest.mark.parametrize("action", ["pause", "resume", "stop"])
def test_an_unknown_trial_is_404(client: TestClient, action: str) -> None:
    response = client.post(f"/trials/999/{action}", json={})
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


@pytest.mark.parametrize(
    ("action", "state", "says"),
    [
        ("pause", "completed", "only a queued or running trial can be paused"),
        ("resume", "completed", "only a paused trial can be resumed"),
        ("stop", "queued", "only a running or paused trial can be stopped"),
        ("stop", "cancelled", "only a running or paused trial can be stopped"),
    ],
)
def test_a_trial_in_the_wrong_state_is_409_and_unchanged(
    client: TestClient, settings: Settings, action: str, state: str, says: str
) -> None:
    search_id, trial_id = queued_trial(client)
    if state == "completed":
        run = claimed(settings, trial_id)
        with session_scope(settings.database_url) as session:
            finish_trial(session, run, Outcome(TrialState.COMPLETED, {"dev_accuracy": 0.5}, value=0.5))
    elif state == "cancelled":
        client.post(f"/searches/{search_id}/cancel", json={})
    before = client.get(f"/trials/{trial_id}").json()

    response = client.post(f"/trials/{trial_id}/{action}", json={})

    assert response.status_code == 409, response.text
    assert_error_shape(response.json(), "conflict")
    assert says in response.json()["error"]["message"]
    assert client.get(f"/trials/{trial_id}").json() == before


def test_a_stopping_trial_cannot_be_paused_or_resumed(client: TestClient, settings: Settings) -> None:
    trial_id = running_trial(client, settings)
    client.post(f"/trials/{trial_id}/stop", json={})
    for action in ("pause", "resume"):
        response = client.post(f"/trials/{trial_id}/{action}", json={})
        assert response.status_code == 409 and "stopping" in response.json()["error"]["message"]


def test_a_trial_of_an_external_search_is_409(client: TestClient) -> None:
    search_id = client.post("/searches", json=external_spec()).json()["id"]
    trial_id = client.post(f"/searches/{search_id}/ask", json={}).json()["id"]
    response = client.post(f"/trials/{trial_id}/pause", json={})
    assert response.status_code == 409 and "external" in response.json()["error"]["message"]


def test_the_reconciler_leaves_paused_trials_alone(client: TestClient, settings: Settings) -> None:
    _, running_then_paused = paused_after(client, settings)
    _, queued_then_paused = queued_trial(client)
    client.post(f"/trials/{queued_then_paused}/pause", json={})
    assert settings.redis_url is not None
    queues = trial_queues(settings.redis_url, settings.queue_name)
    queues.connection.flushdb()  # every job lost
    later = utcnow() + timedelta(hours=1)

    with session_scope(settings.database_url) as session:
        expired = expire_leases(session, settings, later)
        lost = lost_jobs(session, queues, settings, later)

    paused = {running_then_paused, queued_then_paused}
    assert not paused & {job.trial_id for job in [*expired, *lost]}
    for trial_id in paused:
        assert client.get(f"/trials/{trial_id}").json()["state"] == "paused"


def test_a_paused_trial_keeps_its_search_running_and_its_place_in_max_parallel(
    client: TestClient, settings: Settings
) -> None:
    search_id, trial_id = queued_trial(client, quick_spec(budget={"max_trials": 3, "max_parallel": 1}))
    client.post(f"/trials/{trial_id}/pause", json={})

    with session_scope(settings.database_url) as session:
        assert advance_search(session, search_id) == []

    search = client.get(f"/searches/{search_id}").json()
    assert search["state"] == "running"
    assert search["counts"]["paused"] == 1 and sum(search["counts"].values()) == 1


def test_cancelling_a_search_cancels_its_paused_trials(client: TestClient, settings: Settings) -> None:
    _, paused_trial = paused_after(client, settings)
    search_id = client.get(f"/trials/{paused_trial}").json()["search_id"]

    cancelled = client.post(f"/searches/{search_id}/cancel", json={}).json()

    assert client.get(f"/trials/{paused_trial}").json()["state"] == "cancelled"
    assert cancelled["counts"]["paused"] == 0 and cancelled["counts"]["cancelled"] >= 1
    assert client.get("/trials", params={"state": "paused"}).json()["items"] == []


def test_paused_is_a_state_the_lists_filter_on(client: TestClient, settings: Settings) -> None:
    search_id, trial_id = queued_trial(client, ADAM)
    client.post(f"/trials/{trial_id}/pause", json={})
    listed = client.get(f"/searches/{search_id}/trials", params={"state": "paused"}).json()["items"]
    assert [trial["id"] for trial in listed] == [trial_id]
    csv_text = client.get(f"/searches/{search_id}/trials.csv", params={"state": "paused"}).text
    assert len(csv_text.strip().splitlines()) == 2 and ",paused," in csv_text
    assert 'caviar_trials{state="paused"} 1.0' in client.get("/metrics").text
