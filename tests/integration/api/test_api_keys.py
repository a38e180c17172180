"""API keys when they are required: 401 without a valid key, 403 beyond its scope, searches named by key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.api.main import create_app
from app.domain.api_keys import Scope
from app.services.api_keys import create_key, revoke_key
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import ApiKey
from tests.integration.api.test_ask_tell_http import external_spec
from tests.integration.api.test_datasets import npz_bytes, two_blobs
from tests.integration.api.test_error_shape import assert_error_shape
from tests.integration.helpers import quick_spec


@pytest.fixture
def keyed(settings: Settings) -> Iterator[TestClient]:
    """The API with keys required; requests carry no key unless a test adds one."""
    with TestClient(create_app(settings.model_copy(update={"auth": "required"}))) as test_client:
        yield test_client


def key_headers(settings: Settings, name: str, scope: Scope) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        _, token = create_key(session, name, scope)
    return {"Authorization": f"Bearer {token}"}


def create_search(client: TestClient, headers: dict[str, str], **changes: object) -> int:
    created = client.post("/searches", json=quick_spec(**changes), headers=headers)
    assert created.status_code == 201, created.text
    search_id: int = created.json()["id"]
    return search_id


def test_a_request_without_a_key_is_401_with_a_bearer_challenge(keyed: TestClient) -> None:
    for response in (keyed.get("/searches"), keyed.post("/searches", json=quick_spec())):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="caviar"'
        assert_error_shape(response.json(), "unauthenticated")
        assert "CAVIAR_API_KEY" in response.json()["error"]["message"]


def test_an_unknown_or_malformed_key_is_401_invalid_token(keyed: TestClient, settings: Settings) -> None:
    real = key_headers(settings, "real", Scope.ADMIN)["Authorization"].removeprefix("Bearer ")
    wrong_secret = real[: real.rindex("_") + 1] + "x" * 43
    for token in ("nope", "cvr_0123456789ab_" + "y" * 43, wrong_secret, real + "x"):
        response = keyed.get("/searches", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == 'Bearer realm="caviar", error="invalid_token"'
        assert_error_shape(response.json(), "unauthenticated")
    assert keyed.get("/searches", headers={"Authorization": f"Basic {real}"}).status_code == 401


def test_a_revoked_key_is_refused_from_the_next_request(keyed: TestClient, settings: Settings) -> None:
    headers = key_headers(settings, "leaving", Scope.READ)
    assert keyed.get("/searches", headers=headers).status_code == 200
    with session_scope(settings.database_url) as session:
        revoke_key(session, "leaving")
    response = keyed.get("/searches", headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_only_a_hash_of_the_secret_is_stored_and_the_use_is_recorded(
    keyed: TestClient, settings: Settings
) -> None:
    token = key_headers(settings, "stored", Scope.READ)["Authorization"].removeprefix("Bearer ")
    secret = token.split("_", 2)[2]
    assert keyed.get("/workers", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with session_scope(settings.database_url) as session:
        rows = session.execute(text("SELECT * FROM api_keys")).all()
        key = session.scalars(select(ApiKey)).one()
    stored = " ".join(str(value) for row in rows for value in row)
    assert secret not in stored and token not in stored
    assert key.prefix in token and key.secret_hash.startswith("scrypt$")
    assert key.last_used_at is not None and key.revoked_at is None


def test_a_read_key_reads_and_follows_events_but_changes_nothing(
    keyed: TestClient, settings: Settings
) -> None:
    admin = key_headers(settings, "admin", Scope.ADMIN)
    read = key_headers(settings, "dashboards", Scope.READ)
    search_id = create_search(keyed, admin)
    assert keyed.post(f"/searches/{search_id}/cancel", json={}, headers=admin).status_code == 200
    for path in (
        "/searches",
        f"/searches/{search_id}",
        f"/searches/{search_id}/trials",
        f"/searches/{search_id}/trials.csv",
        f"/searches/{search_id}/events",  # the search is over: the stream ends
        "/dashboard/api/searches",
        f"/dashboard/api/searches/{search_id}/plot-data",
        "/datasets",
        "/workers",
        "/metrics",
    ):
        assert keyed.get(path, headers=read).status_code == 200, path
    refused = [
        keyed.post("/searches", json=quick_spec(), headers=read),
        keyed.post(f"/searches/{search_id}/retest", json={}, headers=read),
        keyed.post("/datasets", data={"name": "d"}, files={"file": ("d.npz", b"")}, headers=read),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert_error_shape(response.json(), "forbidden")
        assert "needs submit" in response.json()["error"]["message"] or "needs admin" in response.text


def test_a_submit_key_names_its_searches_and_changes_only_its_own(
    keyed: TestClient, settings: Settings
) -> None:
    ci = key_headers(settings, "ci", Scope.SUBMIT)
    other = key_headers(settings, "notebook", Scope.SUBMIT)
    mine, theirs = create_search(keyed, ci), create_search(keyed, other)
    assert keyed.get(f"/searches/{mine}", headers=ci).json()["created_by_key"] == "ci"
    listed = keyed.get("/searches", headers=ci).json()["items"]
    assert {s["id"]: s["created_by_key"] for s in listed} == {mine: "ci", theirs: "notebook"}

    for response in (
        keyed.post(f"/searches/{theirs}/cancel", json={}, headers=ci),
        keyed.post(f"/searches/{theirs}/retest", json={}, headers=ci),
    ):
        assert response.status_code == 403, response.text
        assert_error_shape(response.json(), "forbidden")
        assert "'notebook'" in response.json()["error"]["message"]
    assert keyed.post(f"/searches/{mine}/cancel", json={}, headers=ci).json()["state"] == "cancelled"
    assert keyed.get(f"/searches/{theirs}", headers=ci).json()["state"] == "running"

    upload = keyed.post("/datasets", data={"name": "d"}, files={"file": ("d.npz", b"")}, headers=ci)
    assert upload.status_code == 403 and "needs admin" in upload.json()["error"]["message"]


def test_a_submit_key_asks_and_tells(keyed: TestClient, settings: Settings) -> None:
    owner = key_headers(settings, "owner", Scope.SUBMIT)
    evaluator = key_headers(settings, "evaluator", Scope.SUBMIT)
    search_id = keyed.post("/searches", json=external_spec(), headers=owner).json()["id"]
    asked = keyed.post(f"/searches/{search_id}/ask", json={}, headers=evaluator)
    assert asked.status_code == 200, asked.text
    trial_id, attempt = asked.json()["id"], asked.json()["attempt"]
    report = {"attempt": attempt, "step": 1, "metrics": {"loss": 0.5}}
    assert keyed.post(f"/trials/{trial_id}/report", json=report, headers=evaluator).status_code == 200
    tell = {"attempt": attempt, "metrics": {"loss": 0.4}}
    assert keyed.post(f"/trials/{trial_id}/tell", json=tell, headers=evaluator).json()["state"] == "completed"


def test_an_admin_key_uploads_datasets_and_cancels_any_search(keyed: TestClient, settings: Settings) -> None:
    admin = key_headers(settings, "root", Scope.ADMIN)
    ci = key_headers(settings, "ci", Scope.SUBMIT)
    search_id = create_search(keyed, ci)
    files = {"file": ("d.npz", npz_bytes(*two_blobs()))}
    upload = keyed.post("/datasets", data={"name": "two-blobs"}, files=files, headers=admin)
    assert upload.status_code == 201, upload.text
    assert keyed.post(f"/searches/{search_id}/cancel", json={}, headers=admin).json()["state"] == "cancelled"


def test_the_dashboard_page_docs_and_health_need_no_key(keyed: TestClient) -> None:
    for path in ("/", "/docs", "/redoc", "/openapi.json", "/healthz", "/dashboard/static/js/api.js"):
        assert keyed.get(path).status_code == 200, path


def test_every_operation_in_the_schema_but_health_takes_a_key(keyed: TestClient) -> None:
    schema = keyed.get("/openapi.json").json()
    unguarded = {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "security" not in operation
    }
    assert unguarded == {"GET /healthz"}
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"401", "403"} <= set(schema["paths"]["/searches"]["post"]["responses"])


def test_without_required_keys_anyone_does_anything_and_searches_name_no_key(client: TestClient) -> None:
    search_id = create_search(client, {})
    assert client.get(f"/searches/{search_id}").json()["created_by_key"] is None
    assert client.post(f"/searches/{search_id}/cancel", json={}).json()["state"] == "cancelled"
