"""A panda search: one model, checkpointed after every epoch whatever the time floor, branched by hand."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.repositories import CheckpointRepository
from tests.integration.helpers import quick_spec
from workers.worker import run_worker

SPEC = quick_spec(strategy={"kind": "panda"}, budget={"max_trials": 1, "max_parallel": 1})
SPEC["space"].update(learning_rate=0.01, hidden_units=16, epochs=4)


def test_a_panda_model_can_be_branched_from_any_epoch_and_the_branch_runs(settings: Settings) -> None:
    assert settings.checkpoint_min_seconds >= 1  # the floor that would skip every epoch of a fast trial
    with TestClient(create_app(settings)) as client:
        created = client.post("/searches", json=SPEC)
        assert created.status_code == 201, created.text
        search: dict[str, Any] = created.json()
        assert search["strategy"]["kind"] == "panda" and search["strategy"]["models"] == 1
        run_worker(settings, burst=True)
        [model] = client.get(f"/searches/{search['id']}/trials").json()["items"]
        with session_scope(settings.database_url) as session:
            steps = [step for step, _ in CheckpointRepository(session).steps(model["id"])]
        branched = client.post(
            f"/trials/{model['id']}/branch", json={"from_step": 2, "params": {"learning_rate": 0.001}}
        )
        assert branched.status_code == 201, branched.text
        run_worker(settings, burst=True)
        branch = client.get(f"/trials/{branched.json()['id']}").json()
        final = client.get(f"/searches/{search['id']}").json()

    assert model["state"] == "completed" and steps == [1, 2, 3, 4]
    assert branch["state"] == "completed" and branch["params"]["learning_rate"] == 0.001
    assert [point["step"] for point in branch["curve"]] == [1, 2, 3, 4]
    assert final["state"] == "completed" and final["counts"]["completed"] == 2  # the budget was 1 model
