"""POST/GET /searches against real Redis and both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.queue import queue_depth, trial_queues
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Event
from app.storage.repositories import SearchRepository
from tests.integration.helpers import quick_spec, row_counts


def test_created_search_queues_its_first_trials_on_redis(client: TestClient, settings: Settings) -> None:
    response = client.post("/searches", json=quick_spec())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "running"
    assert body["counts"]["queued"] == 2  # max_parallel
    assert response.headers["location"] == f"/searches/{body['id']}"
    assert settings.redis_url is not None
    assert queue_depth(trial_queues(settings.redis_url, settings.queue_name)) == 2


def test_stored_spec_has_defaults_filled_in(client: TestClient) -> None:
    spec = quick_spec()
    del spec["seed"]
    body = client.post("/searches", json=spec).json()
    stored = client.get(f"/searches/{body['id']}").json()["spec"]
    assert isinstance(stored["seed"], int)
    assert stored["space"]["learning_rate"]["scale"] == "log"
    assert stored["space"]["hidden_units"]["type"] == "int"
    assert stored["pruner"]["kind"] == "none"
    assert stored["checkpoint_every"] == 1


def test_same_spec_and_seed_give_the_same_configurations(client: TestClient) -> None:
    first = client.post("/searches", json=quick_spec()).json()["id"]
    second = client.post("/searches", json=quick_spec()).json()["id"]
    params = [
        [t["params"] for t in client.get(f"/searches/{i}/trials").json()["items"]] for i in (first, second)
    ]
    assert params[0] == params[1]
    assert len(params[0]) == 2


def test_trials_list_follows_the_cursor(client: TestClient) -> None:
    search_id = client.post("/searches", json=quick_spec(budget={"max_trials": 5, "max_parallel": 5})).json()[
        "id"
    ]
    first = client.get(f"/searches/{search_id}/trials", params={"limit": 3}).json()
    second = client.get(
        f"/searches/{search_id}/trials", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    numbers = [t["number"] for t in first["items"] + second["items"]]
    assert numbers == [0, 1, 2, 3, 4]
    assert second["next_cursor"] is None


def test_cancel_cancels_queued_trials_and_repeating_it_answers_the_same(
    client: TestClient, database_url: str
) -> None:
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    cancelled = client.post(f"/searches/{search_id}/cancel", json={})
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["counts"]["cancelled"] == 2
    again = client.post(f"/searches/{search_id}/cancel", json={})
    assert again.status_code == 200
    assert again.json() == cancelled.json()
    with session_scope(database_url) as session:
        kinds = session.scalars(select(Event.kind).where(Event.search_id == search_id)).all()
    assert kinds.count("search_cancelled") == 1


def test_cancelling_a_finished_search_conflicts(client: TestClient, database_url: str) -> None:
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    with session_scope(database_url) as session:
        search = SearchRepository(session).get(search_id)
        assert search is not None
        search.state = "completed"
    answer = client.post(f"/searches/{search_id}/cancel", json={})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "conflict" and "already completed" in answer.text


def test_unknown_search_and_trial_are_404_with_the_error_shape(client: TestClient) -> None:
    for path in ("/searches/999", "/searches/999/trials", "/searches/999/best", "/trials/999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_idempotency_key_returns_the_same_search(client: TestClient, settings: Settings) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    first = client.post("/searches", json=quick_spec(), headers=headers)
    second = client.post("/searches", json=quick_spec(), headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert row_counts(settings) == (1, 2)


def test_healthz_reports_database_and_redis(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_search_list_is_newest_first_and_filters_by_state(client: TestClient) -> None:
    ids = [client.post("/searches", json=quick_spec()).json()["id"] for _ in range(3)]
    client.post(f"/searches/{ids[0]}/cancel", json={})
    listed = client.get("/searches").json()["items"]
    assert [s["id"] for s in listed] == ids[::-1]
    cancelled = client.get("/searches", params={"state": "cancelled"}).json()["items"]
    assert [s["id"] for s in cancelled] == [ids[0]]
