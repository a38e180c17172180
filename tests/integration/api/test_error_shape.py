"""Every error, whoever raises it, has the shape {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.pool import QueuePool

from app.settings import Settings
from app.storage.db import POOL_TIMEOUT_SECONDS, get_engine
from tests.integration.helpers import quick_spec


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert {"code", "message", "field"} <= set(body["error"])
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_unknown_route_is_404_with_the_error_shape(client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_wrong_method_is_405_with_allow_and_the_error_shape(client: TestClient) -> None:
    response = client.delete("/searches")
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]
    assert_error_shape(response.json(), "method_not_allowed")


def test_invalid_query_parameter_is_422_naming_the_field(client: TestClient) -> None:
    response = client.get("/searches", params={"limit": 0})
    assert response.status_code == 422
    assert_error_shape(response.json(), "invalid_request")
    assert response.json()["error"]["field"] == "limit"


def test_malformed_json_body_is_422_with_the_error_shape(client: TestClient) -> None:
    response = client.post("/searches", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert_error_shape(response.json(), "invalid_request")


def test_ids_beyond_64_bits_are_422_not_500(client: TestClient) -> None:
    for path in (f"/searches/{2**64}", f"/trials/{2**70}", f"/searches/{2**63}/trials"):
        response = client.get(path)
        assert response.status_code == 422, path
        assert_error_shape(response.json(), "invalid_request")


def test_conflict_is_409_with_the_error_shape(client: TestClient) -> None:
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    trial_id = client.get(f"/searches/{search_id}/trials").json()["items"][0]["id"]
    client.post(f"/searches/{search_id}/cancel", json={})
    response = client.post(f"/trials/{trial_id}/pause", json={})  # a cancelled trial
    assert response.status_code == 409
    assert_error_shape(response.json(), "conflict")


def test_openapi_declares_the_error_shape_for_every_error_response(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert {"500", "503"} <= set(operation["responses"]), (method, path)
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")) and path != "/healthz":
                    content = response["content"]["application/json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (path, code)
                    assert content["example"]["error"]["code"], (path, code)


def test_nul_characters_in_strings_never_cause_a_500(client: TestClient) -> None:
    # PostgreSQL refuses NUL in text; SQLite stores it. Either way the answer is not a server error.
    responses = [
        client.post("/searches", json=quick_spec(name="a\x00b")),
        client.post("/searches", json=quick_spec(dataset="dig\x00its")),
        client.get("/searches", params={"dataset": "x\x00"}),
        client.get("/trials", params={"objective": "m\x00lp"}),
        client.get("/datasets/a%00b"),
    ]
    for response in responses:
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert_error_shape(response.json(), response.json()["error"]["code"])


def test_a_request_that_finds_no_free_database_connection_is_503_with_retry_after(
    client: TestClient, settings: Settings
) -> None:
    engine = get_engine(settings.database_url)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    held = [engine.connect() for _ in range(pool.size() + pool._max_overflow)]
    try:
        started = time.monotonic()
        response = client.get("/searches")
        waited = time.monotonic() - started
    finally:
        for connection in held:
            connection.close()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    assert_error_shape(response.json(), "busy")
    assert POOL_TIMEOUT_SECONDS <= waited < POOL_TIMEOUT_SECONDS + 10, "the wait for a connection is bounded"
    assert client.get("/searches").status_code == 200, "connections back: the API answers again"
