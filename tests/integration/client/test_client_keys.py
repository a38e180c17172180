"""Both clients send their API key (`api_key=` or CAVIAR_API_KEY) with every call, the event stream too."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from app.domain.api_keys import Scope
from app.services.api_keys import create_key
from app.settings import Settings
from app.storage.db import session_scope
from caviar import AsyncCaviarClient, CaviarAPIError, CaviarClient
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve


@pytest.fixture
def keyed_api(settings: Settings) -> Iterator[str]:
    with serve(settings.model_copy(update={"auth": "required"})) as url:
        yield url


def new_key(settings: Settings, name: str, scope: Scope = Scope.SUBMIT) -> str:
    with session_scope(settings.database_url) as session:
        return create_key(session, name, scope)[1]


def test_the_sync_client_sends_its_key_with_every_call_and_the_event_stream(
    keyed_api: str, settings: Settings
) -> None:
    with CaviarClient(keyed_api, api_key=new_key(settings, "notebook")) as client:
        search = client.submit(quick_spec())
        cancelled = client.cancel(search["id"])
        kinds = [event["kind"] for event in client.events(search["id"])]
        listed = list(client.searches())
    assert search["created_by_key"] == "notebook" and cancelled["state"] == "cancelled"
    assert kinds[-1] == "search_cancelled"
    assert [s["id"] for s in listed] == [search["id"]]


def test_the_async_client_reads_the_key_from_caviar_api_key(
    keyed_api: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAVIAR_API_KEY", new_key(settings, "from-env"))

    async def session() -> tuple[dict[str, object], list[str]]:
        async with AsyncCaviarClient(keyed_api) as client:
            search = await client.submit(quick_spec())
            await client.cancel(search["id"])
            return search, [event["kind"] async for event in client.events(search["id"])]

    search, kinds = asyncio.run(session())
    assert search["created_by_key"] == "from-env" and kinds[-1] == "search_cancelled"


def test_without_a_key_the_client_raises_the_401_with_what_to_do(
    keyed_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAVIAR_API_KEY", raising=False)
    with CaviarClient(keyed_api) as client, pytest.raises(CaviarAPIError) as refused:
        client.submit(quick_spec())
    assert refused.value.status_code == 401 and refused.value.code == "unauthenticated"
    assert "CAVIAR_API_KEY" in str(refused.value)


def test_a_read_key_is_403_on_a_write(keyed_api: str, settings: Settings) -> None:
    with CaviarClient(keyed_api, api_key=new_key(settings, "viewer", Scope.READ)) as client:
        with pytest.raises(CaviarAPIError) as refused:
            client.submit(quick_spec())
    assert refused.value.status_code == 403 and refused.value.code == "forbidden"
