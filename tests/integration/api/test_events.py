"""GET /searches/{id}/events: Server-Sent Events in id order, resumable, ending with the search."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.services.event_feed import GAP_SETTLE_SECONDS, poll_events
from app.settings import Settings
from app.storage.db import get_session_factory, session_scope
from app.storage.models import utcnow
from app.storage.repositories import EventRepository
from app.storage.repositories.events import write_pending
from caviar import CaviarClient
from caviar._sse import iter_events
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve
from workers.worker import run_worker


def stream(client: TestClient, search_id: int, **headers: str) -> list[dict[str, Any]]:
    """Read a whole (finite) stream; checks that the SSE `id:` and `event:` agree with the data."""
    response = client.get(f"/searches/{search_id}/events", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for message in iter_events(response.text.splitlines()):
        event = json.loads(message.data)
        assert (message.id, message.event) == (str(event["id"]), event["kind"])
        events.append(event)
    return events


def finished_search(client: TestClient, settings: Settings) -> int:
    search_id: int = client.post("/searches", json=quick_spec()).json()["id"]
    run_worker(settings, burst=True)
    return search_id


def test_stream_of_a_finished_search_is_in_id_order_and_ends_with_search_completed(
    client: TestClient, settings: Settings
) -> None:
    search_id = finished_search(client, settings)
    events = stream(client, search_id)
    kinds = [event["kind"] for event in events]
    assert kinds[0] == "search_created"
    assert kinds[-1] == "search_completed"
    assert kinds.count("trial_started") == kinds.count("trial_completed") == 4
    assert kinds.count("epoch") == 4 * 3
    # `attempt` tells a re-queued trial's runs apart; every first run is attempt 1.
    assert {(e["payload"]["attempt"], e["payload"]["step"]) for e in events if e["kind"] == "epoch"} == {
        (1, step) for step in (1, 2, 3)
    }
    assert [event["id"] for event in events] == sorted({event["id"] for event in events})
    assert all(event["search_id"] == search_id for event in events)


def test_last_event_id_resumes_right_after_that_event(client: TestClient, settings: Settings) -> None:
    search_id = finished_search(client, settings)
    events = stream(client, search_id)
    middle = events[len(events) // 2]["id"]
    resumed = stream(client, search_id, **{"Last-Event-ID": str(middle)})
    assert resumed == [event for event in events if event["id"] > middle]


def test_resuming_after_the_final_event_ends_at_once(client: TestClient, settings: Settings) -> None:
    search_id = finished_search(client, settings)
    last = stream(client, search_id)[-1]["id"]
    assert stream(client, search_id, **{"Last-Event-ID": str(last)}) == []


def test_stream_of_a_cancelled_search_ends_with_search_cancelled(client: TestClient) -> None:
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    client.post(f"/searches/{search_id}/cancel", json={})
    assert [event["kind"] for event in stream(client, search_id)] == ["search_created", "search_cancelled"]


def test_stream_of_an_unknown_search_is_404_and_a_bad_last_event_id_is_422(client: TestClient) -> None:
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    assert client.get("/searches/999/events").json()["error"]["code"] == "not_found"
    bad = client.get(f"/searches/{search_id}/events", headers={"Last-Event-ID": "x1"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "Last-Event-ID"


def test_events_arrive_live_while_a_worker_runs_the_search(settings: Settings) -> None:
    received: list[dict[str, Any]] = []
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(quick_spec())["id"]
        first_seen = threading.Event()

        def follow() -> None:
            for event in client.events(search_id):
                received.append(event)
                first_seen.set()

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        assert first_seen.wait(timeout=30)
        run_worker(settings, burst=True)  # in the main thread: RQ installs signal handlers
        reader.join(timeout=30)
        assert not reader.is_alive()
    assert received[0]["kind"] == "search_created"
    assert received[-1]["kind"] == "search_completed"
    assert [event["id"] for event in received] == sorted({event["id"] for event in received})


def test_an_event_committed_out_of_id_order_is_held_back_not_skipped(
    client: TestClient, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite serializes writers: ids always commit in order")
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    last_seen = max(event["id"] for event in _poll(settings, search_id, 0))
    factory = get_session_factory(settings.database_url)
    slow: Session = factory()
    try:
        EventRepository(slow).add(search_id, "epoch", step=1)
        write_pending(slow)  # takes the next id, as the commit's hook does, and does not commit yet
        with session_scope(settings.database_url) as fast:
            EventRepository(fast).add(search_id, "epoch", step=2)
        assert _poll(settings, search_id, last_seen) == []
        slow.commit()
    finally:
        slow.close()
    steps = [event["payload"]["step"] for event in _poll(settings, search_id, last_seen)]
    assert steps == [1, 2]


def test_a_gap_older_than_the_settle_time_is_skipped(client: TestClient, settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite reuses a rolled-back rowid: no gaps")
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    last_seen = max(event["id"] for event in _poll(settings, search_id, 0))
    with get_session_factory(settings.database_url)() as rolled_back:
        EventRepository(rolled_back).add(search_id, "epoch", step=1)
        write_pending(rolled_back)
        rolled_back.rollback()
    with session_scope(settings.database_url) as session:
        EventRepository(session).add(search_id, "epoch", step=2)
    assert _poll(settings, search_id, last_seen) == []
    later = utcnow() + timedelta(seconds=GAP_SETTLE_SECONDS + 1)
    assert [event["payload"]["step"] for event in _poll(settings, search_id, last_seen, now=later)] == [2]


def _poll(settings: Settings, search_id: int, after_id: int, **options: Any) -> list[dict[str, Any]]:
    with session_scope(settings.database_url) as session:
        return [vars(event) for event in poll_events(session, search_id, after_id, **options).events]
