"""A web page in someone's browser cannot change anything, rebind DNS onto us, or read across origins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from caviar import CaviarClient
from tests.integration.api.test_error_shape import assert_error_shape
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve


def running_search(client: TestClient) -> int:
    created = client.post("/searches", json=quick_spec())
    assert created.status_code == 201, created.text
    search_id: int = created.json()["id"]
    return search_id


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null", "Content-Type": "text/plain"},
        {"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
)
def test_a_simple_cross_site_post_cannot_cancel_a_search(client: TestClient, headers: dict[str, str]) -> None:
    search_id = running_search(client)
    response = client.post(f"/searches/{search_id}/cancel", headers=headers)
    assert response.status_code == 415, response.text
    assert_error_shape(response.json(), "unsupported_media_type")
    assert client.get(f"/searches/{search_id}").json()["state"] == "running"


def test_a_form_post_cannot_create_a_search(client: TestClient) -> None:
    response = client.post("/searches", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert client.get("/searches").json()["items"] == []


def test_a_json_post_with_an_empty_body_cancels(client: TestClient) -> None:
    search_id = running_search(client)
    response = client.post(f"/searches/{search_id}/cancel", headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "cancelled"


def test_the_python_client_cancels_and_retests_with_json_content_type(settings: Settings) -> None:
    with serve(settings) as url, CaviarClient(url) as caviar:
        search = caviar.submit(quick_spec())
        assert caviar.cancel(search["id"])["state"] == "cancelled"


@pytest.mark.parametrize("host", ["evil.example", "attacker.example:8000", "127.0.0.1.nip.io"])
def test_a_host_outside_the_allow_list_is_400(client: TestClient, host: str) -> None:
    response = client.get("/searches", headers={"Host": host})
    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid_host")


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "[::1]:8000", "testserver"])
def test_loopback_hosts_are_served_by_default(client: TestClient, host: str) -> None:
    assert client.get("/searches", headers={"Host": host}).status_code == 200


def configured(settings: Settings, **changes: object) -> Iterator[TestClient]:
    # Keys off: a public name in the allow-list would require them (tests/integration/api/test_api_keys.py).
    changed = Settings(**{**settings.model_dump(), "auth": "off", **changes})
    with TestClient(create_app(changed)) as test_client:
        yield test_client


def test_a_star_allows_any_host_and_names_can_be_configured(settings: Settings) -> None:
    for test_client in configured(settings, allowed_hosts=["*"]):
        assert test_client.get("/searches", headers={"Host": "anything.example"}).status_code == 200
    for test_client in configured(settings, allowed_hosts=["caviar.internal", "*.example.org"]):
        assert test_client.get("/searches", headers={"Host": "caviar.internal:443"}).status_code == 200
        assert test_client.get("/searches", headers={"Host": "api.example.org"}).status_code == 200
        assert test_client.get("/searches", headers={"Host": "localhost"}).status_code == 400


def test_cors_is_off_unless_origins_are_configured(client: TestClient, settings: Settings) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/searches", headers=preflight).headers
    assert "access-control-allow-origin" not in client.get("/searches", headers=preflight).headers
    for test_client in configured(settings, cors_origins=["https://app.example"]):
        answer = test_client.options("/searches", headers=preflight)
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        other = test_client.get("/searches", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_allowed_hosts_and_cors_origins_read_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAVIAR_ALLOWED_HOSTS", "caviar.internal, 10.0.0.5")
    monkeypatch.setenv("CAVIAR_CORS_ORIGINS", "https://a.example,https://b.example")
    settings = Settings()
    assert settings.allowed_hosts == ["caviar.internal", "10.0.0.5"]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
