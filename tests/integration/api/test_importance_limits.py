"""`/importance` within CAVIAR_IMPORTANCE_SECONDS, and abandoned when its client leaves."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message

from app.api.main import create_app
from app.domain.importance import REPEATS, TREES, TREES_PER_BATCH
from app.errors import ClientDisconnected
from app.services.analysis import importance
from app.settings import Settings
from app.storage.db import read_session_scope
from tests.integration.helpers import ask_and_tell

TRIALS = 12


def finished_external_search(client: TestClient) -> int:
    """An external search of TRIALS completed trials whose loss follows `x`."""
    spec = {
        "objective": "external",
        "metric": "loss",
        "direction": "minimize",
        "space": {
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "y": {"type": "float", "low": 0.0, "high": 1.0},
        },
        "budget": {"max_trials": TRIALS, "max_parallel": TRIALS},
        "seed": 3,
    }
    created = client.post("/searches", json=spec)
    assert created.status_code == 201, created.text
    search_id: int = created.json()["id"]
    ask_and_tell(client, search_id, TRIALS, lambda _, params: params["x"] ** 2)
    return search_id


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


class LeavesAfter(threading.Event):
    """A client that is still there for the first `questions` times the fit asks, and gone after."""

    def __init__(self, questions: int) -> None:
        super().__init__()
        self.questions = questions
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        return self.asked > self.questions


def test_importance_within_its_budget_is_complete(client: TestClient) -> None:
    search_id = finished_external_search(client)
    body = client.get(f"/searches/{search_id}/importance").json()
    assert body["complete"] is True and (body["n_trees"], body["n_repeats"]) == (TREES, REPEATS)
    assert body["n_trials"] == TRIALS and list(body["importances"])[0] == "x"


def test_importance_with_no_time_left_answers_from_one_batch_marked_incomplete(settings: Settings) -> None:
    hurried = settings.model_copy(update={"importance_seconds": 1e-9})
    with TestClient(create_app(hurried)) as client:
        search_id = finished_external_search(client)
        response = client.get(f"/searches/{search_id}/importance")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["complete"] is False
    assert (body["n_trees"], body["n_repeats"]) == (TREES_PER_BATCH, 1)
    assert set(body["importances"]) == {"x", "y"}


def test_a_fit_whose_client_left_stops_at_its_next_batch_and_is_not_kept(
    client: TestClient, settings: Settings
) -> None:
    search_id = finished_external_search(client)
    gone = LeavesAfter(questions=3)
    with read_session_scope(settings.database_url) as session, pytest.raises(ClientDisconnected):
        importance(session, search_id, max_trials=2000, seconds=60.0, cancelled=gone)
    assert gone.asked == 4, "the fit went on asking after the client had gone"
    with read_session_scope(settings.database_url) as session:
        again = importance(session, search_id, max_trials=2000, seconds=60.0, cancelled=threading.Event())
    assert again["complete"] is True and again["n_trees"] == TREES


def test_importance_for_a_client_already_gone_answers_499_and_fits_nothing(
    client: TestClient, settings: Settings
) -> None:
    search_id = finished_external_search(client)
    status = asyncio.run(_get_then_disconnect(client.app, f"/searches/{search_id}/importance"))
    assert status == 499
    body = client.get(f"/searches/{search_id}/importance").json()
    assert body["complete"] is True


async def _get_then_disconnect(app: ASGIApp, path: str) -> int:
    """The status the app answers to a GET whose client has disconnected once the request was sent."""
    incoming: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    status: int = next(message["status"] for message in sent if message["type"] == "http.response.start")
    return status
