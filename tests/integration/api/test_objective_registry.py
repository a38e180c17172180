"""Which objectives a spec may name: the built-ins, and what live workers advertise; never a dotted path."""

from __future__ import annotations

import sys
from datetime import timedelta

from fastapi.testclient import TestClient

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Worker, utcnow
from app.storage.repositories import WorkerRepository
from tests.integration.helpers import quick_spec, row_counts


def plugin_spec(objective: str) -> dict[str, object]:
    return quick_spec(objective=objective, space={"n_estimators": {"type": "int", "low": 10, "high": 50}})


def add_worker(
    settings: Settings, objectives: list[str], *, age_seconds: float = 0.0, state: str = "idle"
) -> None:
    heartbeat = utcnow() - timedelta(seconds=age_seconds)
    with session_scope(settings.database_url) as session:
        WorkerRepository(session).register(
            Worker(
                id=f"w-{len(objectives)}-{age_seconds}-{state}",
                host="test-host",
                pid=1,
                state=state,
                current_trial_id=None,
                objectives=objectives,
                started_at=heartbeat,
                heartbeat_at=heartbeat,
            )
        )


def test_objective_nobody_advertises_is_422_naming_the_known_objectives(
    client: TestClient, settings: Settings
) -> None:
    add_worker(settings, ["gbc", "mlp", "quadratic"])
    response = client.post("/searches", json=plugin_spec("xgboost"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_spec", "objective")
    assert "gbc, mlp, quadratic" in error["message"]
    assert row_counts(settings) == (0, 0)


def test_objective_advertised_by_a_live_worker_is_accepted(client: TestClient, settings: Settings) -> None:
    add_worker(settings, ["gbc", "mlp", "quadratic"])
    response = client.post("/searches", json=plugin_spec("gbc"))
    assert response.status_code == 201, response.text
    assert response.json()["objective"] == "gbc"


def test_objective_advertised_only_by_a_dead_or_stopped_worker_is_422(
    client: TestClient, settings: Settings
) -> None:
    add_worker(settings, ["gbc"], age_seconds=settings.lease_seconds * 2)
    add_worker(settings, ["gbc"], state="stopped")
    assert client.post("/searches", json=plugin_spec("gbc")).status_code == 422


def test_built_in_objectives_are_accepted_with_no_worker_at_all(client: TestClient) -> None:
    assert client.post("/searches", json=quick_spec()).status_code == 201


def test_a_dotted_path_is_an_unknown_objective_and_is_never_imported(client: TestClient) -> None:
    assert "json.tool" not in sys.modules
    response = client.post("/searches", json=plugin_spec("json.tool:main"))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "objective"
    assert "json.tool" not in sys.modules
