"""Ask/tell over HTTP for `external` searches: leases, idempotent tells, 409s, pruner verdicts."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.queue import queue_depth, trial_queues
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial, utcnow


def external_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "external",
        "objective": "external",
        "metric": "loss",
        "direction": "minimize",
        "space": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
        "strategy": {"kind": "random"},
        "budget": {"max_trials": 3, "max_parallel": 2},
        "seed": 5,
    }
    spec.update(changes)
    return spec


def create(client: TestClient, **changes: Any) -> int:
    created = client.post("/searches", json=external_spec(**changes))
    assert created.status_code == 201, created.text
    search_id: int = created.json()["id"]
    return search_id


def expire_lease(settings: Settings, trial_id: int) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Trial).where(Trial.id == trial_id).values(heartbeat_at=utcnow() - timedelta(minutes=1))
        )


def test_external_search_needs_no_dataset_and_queues_nothing_on_redis(
    client: TestClient, settings: Settings
) -> None:
    search_id = create(client)
    search = client.get(f"/searches/{search_id}").json()
    assert search["dataset"] is None and search["spec"]["dataset"] is None
    assert search["counts"]["queued"] == 2 and search["waiting"] is None
    assert settings.redis_url is not None
    assert queue_depth(trial_queues(settings.redis_url, settings.queue_name)) == 0


def test_ask_report_tell_runs_an_external_search_to_completion(client: TestClient) -> None:
    search_id = create(client)
    told = []
    while (asked := client.post(f"/searches/{search_id}/ask", json={"asker": "test"})).status_code == 200:
        trial = asked.json()
        assert trial["attempt"] == 1 and trial["metric"] == "loss" and trial["lease_seconds"] > 0
        loss = trial["params"]["x"] ** 2
        reported = client.post(
            f"/trials/{trial['id']}/report", json={"attempt": 1, "step": 1, "metrics": {"loss": loss}}
        )
        assert reported.status_code == 200 and reported.json()["should_stop"] is False
        answer = client.post(f"/trials/{trial['id']}/tell", json={"attempt": 1, "metrics": {"loss": loss}})
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "completed" and answer.json()["worker_id"] == "test"
        told.append(trial["number"])
    assert asked.status_code == 409, asked.text
    assert sorted(told) == [0, 1, 2]
    search = client.get(f"/searches/{search_id}").json()
    assert search["state"] == "completed" and search["counts"]["completed"] == 3
    curve = client.get(f"/trials/{search['best']['id']}").json()["curve"]
    assert [point["step"] for point in curve] == [1]


def test_ask_answers_204_with_retry_after_while_every_trial_is_held(client: TestClient) -> None:
    search_id = create(client, budget={"max_trials": 3, "max_parallel": 1})
    first = client.post(f"/searches/{search_id}/ask", json={})
    assert first.status_code == 200
    waiting = client.post(f"/searches/{search_id}/ask", json={})
    assert waiting.status_code == 204 and waiting.headers["Retry-After"] == "1" and waiting.content == b""


def test_a_repeated_tell_answers_the_same_and_records_once(client: TestClient) -> None:
    search_id = create(client)
    trial = client.post(f"/searches/{search_id}/ask", json={}).json()
    body = {"attempt": trial["attempt"], "metrics": {"loss": 0.5}}
    first = client.post(f"/trials/{trial['id']}/tell", json=body)
    again = client.post(f"/trials/{trial['id']}/tell", json=body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert client.get(f"/searches/{search_id}").json()["counts"]["completed"] == 1
    other = client.post(f"/trials/{trial['id']}/tell", json={"attempt": trial["attempt"], "state": "failed"})
    assert other.status_code == 409


def test_a_late_tell_after_the_lease_expired_and_the_trial_was_re_asked_is_409(
    client: TestClient, settings: Settings
) -> None:
    search_id = create(client, budget={"max_trials": 1, "max_parallel": 1})
    first = client.post(f"/searches/{search_id}/ask", json={}).json()
    expire_lease(settings, first["id"])
    second = client.post(f"/searches/{search_id}/ask", json={}).json()
    assert second["id"] == first["id"] and second["attempt"] == 2
    late = client.post(f"/trials/{first['id']}/tell", json={"attempt": 1, "metrics": {"loss": 0.1}})
    assert late.status_code == 409
    assert "lease expired" in late.json()["error"]["message"]
    late_report = client.post(
        f"/trials/{first['id']}/report", json={"attempt": 1, "step": 1, "metrics": {"loss": 0.1}}
    )
    assert late_report.status_code == 409
    current = client.post(f"/trials/{first['id']}/tell", json={"attempt": 2, "metrics": {"loss": 0.2}})
    assert current.status_code == 200 and current.json()["value"] == 0.2
    assert client.get(f"/searches/{search_id}").json()["state"] == "completed"


def test_a_released_trial_goes_to_the_next_ask(client: TestClient) -> None:
    search_id = create(client, budget={"max_trials": 1, "max_parallel": 1})
    first = client.post(f"/searches/{search_id}/ask", json={}).json()
    released = client.post(f"/trials/{first['id']}/tell", json={"attempt": 1, "state": "released"})
    assert released.status_code == 200 and released.json()["state"] == "queued"
    second = client.post(f"/searches/{search_id}/ask", json={}).json()
    assert (second["id"], second["attempt"]) == (first["id"], 2)


def test_a_completed_tell_without_the_search_metric_is_422_and_records_nothing(client: TestClient) -> None:
    search_id = create(client)
    trial = client.post(f"/searches/{search_id}/ask", json={}).json()
    wrong = client.post(f"/trials/{trial['id']}/tell", json={"attempt": 1, "metrics": {"accuracy": 0.5}})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "metrics"
    assert client.get(f"/trials/{trial['id']}").json()["state"] == "running"


def test_the_median_pruner_tells_a_bad_trial_to_stop(client: TestClient) -> None:
    search_id = create(
        client, pruner={"kind": "median", "min_trials": 1}, budget={"max_trials": 2, "max_parallel": 2}
    )
    good = client.post(f"/searches/{search_id}/ask", json={}).json()
    bad = client.post(f"/searches/{search_id}/ask", json={}).json()
    for step in (1, 2, 3):
        client.post(
            f"/trials/{good['id']}/report", json={"attempt": 1, "step": step, "metrics": {"loss": 0.1}}
        )
    client.post(f"/trials/{good['id']}/tell", json={"attempt": 1, "metrics": {"loss": 0.1}})
    verdicts = [
        client.post(
            f"/trials/{bad['id']}/report", json={"attempt": 1, "step": step, "metrics": {"loss": 5.0}}
        ).json()["should_stop"]
        for step in (1, 2, 3)
    ]
    assert any(verdicts), verdicts
    pruned = client.post(f"/trials/{bad['id']}/tell", json={"attempt": 1, "state": "pruned"}).json()
    assert pruned["state"] == "pruned" and pruned["pruned_step"] == 3 and pruned["metrics"] == {"loss": 5.0}


def test_a_retried_report_of_the_same_step_replaces_the_first(client: TestClient) -> None:
    search_id = create(client)
    trial = client.post(f"/searches/{search_id}/ask", json={}).json()
    for loss in (0.4, 0.3):
        answer = client.post(
            f"/trials/{trial['id']}/report", json={"attempt": 1, "step": 1, "metrics": {"loss": loss}}
        )
        assert answer.status_code == 200
    assert client.get(f"/trials/{trial['id']}").json()["curve"] == [{"step": 1, "metrics": {"loss": 0.3}}]


def test_ask_on_a_worker_search_or_a_finished_one_is_409(client: TestClient) -> None:
    from tests.integration.helpers import quick_spec

    worker_search = client.post("/searches", json=quick_spec()).json()["id"]
    assert client.post(f"/searches/{worker_search}/ask", json={}).status_code == 409
    search_id = create(client)
    client.post(f"/searches/{search_id}/cancel", json={})
    answer = client.post(f"/searches/{search_id}/ask", json={})
    assert answer.status_code == 409 and "cancelled" in answer.json()["error"]["message"]
    assert client.post("/searches/999999/ask", json={}).status_code == 404


def test_failed_tells_beyond_max_failed_trials_fail_the_search_with_the_first_error(
    client: TestClient,
) -> None:
    search_id = create(client, budget={"max_trials": 10, "max_parallel": 1, "max_failed_trials": 2})
    for error in ("ValueError: first", "ValueError: second"):
        trial = client.post(f"/searches/{search_id}/ask", json={}).json()
        told = client.post(
            f"/trials/{trial['id']}/tell", json={"attempt": 1, "state": "failed", "error": error}
        )
        assert told.status_code == 200
        time.sleep(0.01)  # distinct finish times: "first" is the first
    search = client.get(f"/searches/{search_id}").json()
    assert search["state"] == "failed"
    assert search["error"] == "trial 0 failed: ValueError: first"
    assert search["counts"]["failed"] == 2 and search["counts"]["queued"] == 0
    assert client.post(f"/searches/{search_id}/ask", json={}).status_code == 409
