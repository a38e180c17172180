"""Routing by objective: a worker takes only trials it can run; the others wait, and the search says why."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.api.main import create_app
from app.queue import queue_depth, trial_queues
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Worker, utcnow
from tests.integration.api.test_objective_registry import add_worker, plugin_spec
from workers.worker import run_worker


def test_a_worker_without_the_plugin_leaves_its_trials_queued_and_the_search_says_why(
    settings: Settings,
) -> None:
    add_worker(settings, ["gbc", "mlp", "quadratic"])
    with TestClient(create_app(settings)) as client:
        search_id = client.post("/searches", json=plugin_spec("gbc")).json()["id"]
        assert client.get(f"/searches/{search_id}").json()["waiting"] is None
        run_worker(settings, burst=True)  # has mlp and quadratic only
        with session_scope(settings.database_url) as session:  # the plugin's worker goes silent
            session.execute(update(Worker).values(heartbeat_at=utcnow() - timedelta(hours=1)))
        search = client.get(f"/searches/{search_id}").json()
    assert search["state"] == "running"
    assert search["counts"]["queued"] == 2 and search["counts"]["failed"] == 0
    assert "no live worker runs objective 'gbc'" in search["waiting"]
    assert settings.redis_url is not None
    assert queue_depth(trial_queues(settings.redis_url, settings.queue_name)) == 2
