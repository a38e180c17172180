"""`caviar keys create|list|revoke` on the database at DATABASE_URL, and the key working on a live API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from app.cli import app
from app.settings import Settings, get_settings
from caviar import CaviarAPIError, CaviarClient
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve


@pytest.fixture
def database(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The commands read DATABASE_URL from the environment, as on a server."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.delenv("CAVIAR_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield settings.database_url
    get_settings.cache_clear()


def keys(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, ["keys", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def test_create_prints_the_key_once_on_stdout_and_list_never_shows_it(database: str) -> None:
    created = keys("create", "--name", "ci", "--scope", "submit")
    token = created.stdout.strip()
    assert token.startswith("cvr_") and "\n" not in token
    assert "shown only this once" in created.stderr
    listed = [json.loads(line) for line in keys("list", "-f", "json").stdout.splitlines()]
    assert [(k["name"], k["scope"], k["revoked_at"]) for k in listed] == [("ci", "submit", None)]
    assert token.split("_")[1] == listed[0]["prefix"]
    assert token.split("_", 2)[2] not in keys("list").stdout + json.dumps(listed)


def test_a_created_key_works_until_it_is_revoked(database: str, settings: Settings) -> None:
    token = keys("create", "--name", "notebook", "--scope", "submit").stdout.strip()
    with serve(settings.model_copy(update={"auth": "required"})) as url:
        with CaviarClient(url, api_key=token) as client:
            assert client.submit(quick_spec())["created_by_key"] == "notebook"
        assert "key 'notebook' revoked" in keys("revoke", "notebook").stdout
        with CaviarClient(url, api_key=token) as client, pytest.raises(CaviarAPIError) as refused:
            list(client.searches())
    assert refused.value.status_code == 401
    listed = json.loads(keys("list", "-f", "json").stdout)
    assert listed["revoked_at"] is not None and listed["last_used_at"] is not None


def test_names_are_unique_and_unknown_keys_and_scopes_are_refused(database: str) -> None:
    keys("create", "--name", "ci", "--scope", "read")
    assert "exists" in keys("create", "--name", "ci", "--scope", "admin", code=1).stderr
    assert "no API key named 'nobody'" in keys("revoke", "nobody", code=1).stderr
    assert "letters, digits" in keys("create", "--name", "a b", "--scope", "read", code=1).stderr
    keys("create", "--name", "x", "--scope", "root", code=2)
    assert "revoked" in keys("revoke", "1").stdout  # by id


def test_a_database_without_the_migration_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    get_settings.cache_clear()
    try:
        assert "caviar db upgrade" in keys("list", code=1).stderr
    finally:
        get_settings.cache_clear()


def test_the_client_commands_send_caviar_api_key(
    database: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = keys("create", "--name", "terminal", "--scope", "read").stdout.strip()
    with serve(settings.model_copy(update={"auth": "required"})) as url:
        monkeypatch.delenv("CAVIAR_API_KEY", raising=False)
        refused = CliRunner().invoke(app, ["searches", "--api-url", url])
        monkeypatch.setenv("CAVIAR_API_KEY", token)
        listed = CliRunner().invoke(app, ["searches", "--api-url", url, "-f", "json"])
    assert refused.exit_code == 1 and "401 unauthenticated" in refused.stderr
    assert "CAVIAR_API_KEY" in refused.stderr
    assert listed.exit_code == 0, listed.output
