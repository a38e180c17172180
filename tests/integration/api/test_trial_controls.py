"""PATCH /trials/{id}/controls: asking a running trial to change live hyperparameters (a nudge)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.domain.api_keys import Scope
from app.services.trial_runs import claim_trial
from app.settings import Settings
from app.storage.db import session_scope
from tests.integration.api.test_api_keys import create_search, key_headers, keyed  # noqa: F401
from tests.integration.api.test_ask_tell_http import external_spec
from tests.integration.api.test_error_shape import assert_error_shape
from tests.integration.helpers import quick_spec

ADAM = quick_spec(space={"learning_rate": 0.01, "hidden_units": 16, "optimizer": "adam", "epochs": 3})


def running_trial(client: TestClient, settings: Settings, spec: dict[str, Any] = ADAM, **headers: str) -> int:
    """A trial of a new search, claimed by a (pretend) worker: running."""
    search_id = client.post("/searches", json=spec, headers=headers).json()["id"]
    trial_id: int = client.get(f"/searches/{search_id}/trials", headers=headers).json()["items"][0]["id"]
    with session_scope(settings.database_url) as session:
        assert claim_trial(session, trial_id, "worker-1") is not None
    return trial_id


def test_a_nudge_of_a_running_trial_is_pending_until_its_next_epoch(
    client: TestClient, settings: Settings
) -> None:
    trial_id = running_trial(client, settings)

    response = client.patch(f"/trials/{trial_id}/controls", json={"learning_rate": 0.003, "beta1": 0.8})

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["trial_id"] == trial_id and body["nudges"] == []
    [pending] = body["pending"]
    assert pending["changes"] == {"learning_rate": 0.003, "beta1": 0.8} and pending["by"] == "anyone"
    detail = client.get(f"/trials/{trial_id}").json()
    assert detail["controls_pending"] == body["pending"] and detail["nudges"] == []


@pytest.mark.parametrize(
    ("controls", "field", "reason"),
    [
        ({"epochs": 10}, "epochs", "not live-adjustable"),
        ({"beta": 0.5}, "beta", "not live-adjustable"),  # momentum's; this trial runs Adam
        ({"decay_rate": 0.5}, "decay_rate", "not live-adjustable"),  # no decay schedule
        ({"colour": 1}, "colour", "not live-adjustable"),
        ({"learning_rate": "fast"}, "learning_rate", "must be a number"),
        ({"learning_rate": 0}, "learning_rate", "must be in"),
        ({"keep_prob": [0.5, 0.5, 0.5]}, "keep_prob", "one entry per hidden layer"),
        ({}, "controls", "at least one"),
    ],
)
def test_a_bad_control_is_422_naming_it_and_writes_nothing(
    client: TestClient, settings: Settings, controls: dict[str, Any], field: str, reason: str
) -> None:
    trial_id = running_trial(client, settings)
    before = client.get(f"/trials/{trial_id}").json()

    response = client.patch(f"/trials/{trial_id}/controls", json=controls)

    assert response.status_code == 422, response.text
    assert_error_shape(response.json(), "invalid_spec")
    assert response.json()["error"]["field"] == field
    assert reason in response.json()["error"]["message"]
    assert client.get(f"/trials/{trial_id}").json() == before


def test_an_objective_without_live_controls_refuses_every_nudge(
    client: TestClient, settings: Settings
) -> None:
    search_id = client.post("/searches", json=external_spec()).json()["id"]
    asked = client.post(f"/searches/{search_id}/ask", json={}).json()

    response = client.patch(f"/trials/{asked['id']}/controls", json={"x": 1.0})

    assert response.status_code == 422
    assert "no live-adjustable hyperparameters" in response.json()["error"]["message"]


def test_a_trial_that_is_not_running_is_409_and_an_unknown_one_404(client: TestClient) -> None:
    search_id = client.post("/searches", json=ADAM).json()["id"]
    queued = client.get(f"/searches/{search_id}/trials").json()["items"][0]["id"]

    conflict = client.patch(f"/trials/{queued}/controls", json={"learning_rate": 0.003})
    missing = client.patch("/trials/999999/controls", json={"learning_rate": 0.003})

    assert conflict.status_code == 409 and "only a running trial" in conflict.json()["error"]["message"]
    assert missing.status_code == 404
    assert_error_shape(missing.json(), "not_found")


def test_a_submit_key_nudges_only_its_own_searches_trials_and_is_named(
    keyed: TestClient,  # noqa: F811
    settings: Settings,
) -> None:
    ci = key_headers(settings, "ci", Scope.SUBMIT)
    notebook = key_headers(settings, "notebook", Scope.SUBMIT)
    admin = key_headers(settings, "root", Scope.ADMIN)
    trial_id = running_trial(keyed, settings, **ci)

    refused = keyed.patch(f"/trials/{trial_id}/controls", json={"l2": 0.1}, headers=notebook)
    own = keyed.patch(f"/trials/{trial_id}/controls", json={"l2": 0.1}, headers=ci)
    any_by_admin = keyed.patch(f"/trials/{trial_id}/controls", json={"l2": 0.2}, headers=admin)

    assert refused.status_code == 403
    assert_error_shape(refused.json(), "forbidden")
    assert own.status_code == any_by_admin.status_code == 202
    assert [request["by"] for request in any_by_admin.json()["pending"]] == ["ci", "root"]
