"""POST /trials/{id}/branch: a new trial from a checkpoint of another, with changed live hyperparameters."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.domain.api_keys import Scope
from app.services.trial_runs import ClaimedRun, claim_trial, record_epoch
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Event
from tests.integration.api.test_api_keys import key_headers, keyed  # noqa: F401
from tests.integration.api.test_error_shape import assert_error_shape
from tests.integration.api.test_trial_controls import ADAM

METRICS = {"dev_accuracy": 0.5, "dev_cost": 0.7, "train_cost": 0.6}


def trial_with_checkpoints(
    client: TestClient, settings: Settings, steps: int = 3, **headers: str
) -> ClaimedRun:
    """The first trial of a new search, run by a (pretend) worker for `steps` epochs, checkpointing each."""
    search_id = client.post("/searches", json=ADAM, headers=headers).json()["id"]
    trial_id = client.get(f"/searches/{search_id}/trials", headers=headers).json()["items"][0]["id"]
    with session_scope(settings.database_url) as session:
        run = claim_trial(session, trial_id, "worker-1")
        assert run is not None
    for step in range(1, steps + 1):
        with session_scope(settings.database_url) as session:
            record_epoch(session, run, step, METRICS, {}, f"after {step}".encode())
    return run


def test_a_branch_is_created_queued_and_its_lineage_is_shown_everywhere(
    client: TestClient, settings: Settings
) -> None:
    parent = trial_with_checkpoints(client, settings)
    etag = client.get(f"/trials/{parent.trial_id}").headers["etag"]

    response = client.post(
        f"/trials/{parent.trial_id}/branch", json={"from_step": 2, "params": {"learning_rate": 0.001}}
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "queued" and created["search_id"] == parent.search_id
    lineage = {
        "parent_trial_id": parent.trial_id,
        "branch_step": 2,
        "branch_params": {"learning_rate": 0.001},
    }
    assert {key: created[key] for key in lineage} == lineage
    assert created["params"] == {**parent.params, "learning_rate": 0.001}
    detail = client.get(f"/trials/{created['id']}").json()
    assert {key: detail[key] for key in lineage} == lineage
    assert [point["step"] for point in detail["curve"]] == [1, 2]  # the parent's, up to the step
    assert detail["branches"] == []
    revalidated = client.get(f"/trials/{parent.trial_id}", headers={"If-None-Match": etag})
    assert revalidated.status_code == 200  # the parent's answer changed: it lists its branch
    assert revalidated.json()["branches"] == [{"trial_id": created["id"], "step": 2}]
    listed = {t["id"]: t for t in client.get(f"/searches/{parent.search_id}/trials").json()["items"]}
    assert {key: listed[created["id"]][key] for key in lineage} == lineage
    assert listed[parent.trial_id]["parent_trial_id"] is None
    rows = {
        int(row["id"]): row
        for row in csv.DictReader(io.StringIO(client.get(f"/searches/{parent.search_id}/trials.csv").text))
    }
    row = rows[created["id"]]
    assert (row["parent_trial_id"], row["branch_step"]) == (str(parent.trial_id), "2")
    assert json.loads(row["branch_params"]) == {"learning_rate": 0.001}
    assert rows[parent.trial_id]["branch_params"] == ""
    with session_scope(settings.database_url) as session:
        [event] = session.scalars(select(Event).where(Event.kind == "trial_branched")).all()
        assert (event.trial_id, event.payload["parent_trial_id"]) == (created["id"], parent.trial_id)


def test_a_branch_without_params_continues_the_parent_unchanged(
    client: TestClient, settings: Settings
) -> None:
    parent = trial_with_checkpoints(client, settings)

    response = client.post(f"/trials/{parent.trial_id}/branch", json={"from_step": 3})

    assert response.status_code == 201, response.text
    assert response.json()["params"] == parent.params and response.json()["branch_params"] == {}


@pytest.mark.parametrize(
    ("body", "code", "field", "reason"),
    [
        ({"from_step": 2, "params": {"epochs": 10}}, "invalid_spec", "params.epochs", "not live-adjustable"),
        ({"from_step": 2, "params": {"beta": 0.5}}, "invalid_spec", "params.beta", "not live-adjustable"),
        (
            {"from_step": 2, "params": {"learning_rate": -1}},
            "invalid_spec",
            "params.learning_rate",
            "must be",
        ),
        ({"from_step": 2, "params": {"keep_prob": "x"}}, "invalid_spec", "params.keep_prob", "must be"),
        ({"from_step": 9}, "invalid_spec", "from_step", "its checkpoints are at steps 1, 2, 3"),
        ({"from_step": 0}, "invalid_request", "from_step", "greater than or equal to 1"),
        ({"params": {}}, "invalid_request", "from_step", "required"),
        ({"from_step": 1, "lr": 0.1}, "invalid_request", "lr", "not permitted"),
    ],
)
def test_a_bad_branch_is_422_naming_the_field_and_creates_nothing(
    client: TestClient, settings: Settings, body: dict[str, Any], code: str, field: str, reason: str
) -> None:
    parent = trial_with_checkpoints(client, settings)

    response = client.post(f"/trials/{parent.trial_id}/branch", json=body)

    assert response.status_code == 422, response.text
    assert_error_shape(response.json(), code)
    assert response.json()["error"]["field"] == field
    assert reason in response.json()["error"]["message"]
    assert len(client.get(f"/searches/{parent.search_id}/trials").json()["items"]) == 2  # max_parallel's


def test_an_unknown_trial_is_404_and_a_cancelled_search_409(client: TestClient, settings: Settings) -> None:
    parent = trial_with_checkpoints(client, settings)
    assert client.post(f"/searches/{parent.search_id}/cancel", json={}).status_code == 200

    missing = client.post("/trials/999999/branch", json={"from_step": 1})
    cancelled = client.post(f"/trials/{parent.trial_id}/branch", json={"from_step": 1})

    assert missing.status_code == 404
    assert_error_shape(missing.json(), "not_found")
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["error"]["message"]


def test_a_submit_key_branches_only_its_own_searches_trials_and_is_named(
    keyed: TestClient,  # noqa: F811
    settings: Settings,
) -> None:
    ci = key_headers(settings, "ci", Scope.SUBMIT)
    notebook = key_headers(settings, "notebook", Scope.SUBMIT)
    reader = key_headers(settings, "dashboard", Scope.READ)
    parent = trial_with_checkpoints(keyed, settings, **ci)
    path = f"/trials/{parent.trial_id}/branch"

    refused = keyed.post(path, json={"from_step": 1}, headers=notebook)
    read_only = keyed.post(path, json={"from_step": 1}, headers=reader)
    own = keyed.post(path, json={"from_step": 1}, headers=ci)

    assert refused.status_code == read_only.status_code == 403
    assert_error_shape(refused.json(), "forbidden")
    assert own.status_code == 201
    with session_scope(settings.database_url) as session:
        [event] = session.scalars(select(Event).where(Event.kind == "trial_branched")).all()
        assert event.payload["by"] == "ci"
