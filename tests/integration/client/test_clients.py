"""The sync and async Python clients against a live API server."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.services.trial_runs import claim_trial, record_epoch
from app.settings import Settings
from app.storage.db import session_scope
from caviar import AsyncCaviarClient, CaviarAPIError, CaviarClient
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve
from workers.worker import run_worker


def test_sync_client_revalidates_polls_with_the_etag(settings: Settings) -> None:
    statuses: list[int] = []

    def record(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    with serve(settings) as url, CaviarClient(url, event_hooks={"response": [record]}) as client:
        search_id = client.submit(quick_spec())["id"]
        first = client.search(search_id)
        second = client.search(search_id)
    assert second == first
    assert statuses == [201, 200, 304]


def test_sync_client_pages_sorted_trials_and_stops_at_the_limit(settings: Settings) -> None:
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(quick_spec(budget={"max_trials": 5, "max_parallel": 5}))["id"]
        run_worker(settings, burst=True)
        best_three = list(client.trials(search_id, sort="-dev_accuracy", limit=3, page_size=2))
        everything = list(client.trials(search_id, page_size=2))
        across = list(client.find_trials(dataset="digits", state="completed", sort="-dev_accuracy", limit=2))
    values = sorted((t["metrics"]["dev_accuracy"] for t in everything), reverse=True)
    assert [t["metrics"]["dev_accuracy"] for t in best_three] == values[:3]
    assert [t["number"] for t in everything] == [0, 1, 2, 3, 4]
    assert [t["id"] for t in across] == [t["id"] for t in best_three[:2]]


def test_async_client_follows_events_and_reads_the_results(settings: Settings) -> None:
    with serve(settings) as url:
        with CaviarClient(url) as client:
            search_id = client.submit(quick_spec())["id"]
        run_worker(settings, burst=True)

        async def session() -> tuple[list[str], dict[str, Any], list[dict[str, Any]], str, dict[str, Any]]:
            async with AsyncCaviarClient(url) as client:
                kinds = [event["kind"] async for event in client.events(search_id)]
                search = await client.wait(search_id, poll_seconds=0.1)
                best = [t async for t in client.trials(search_id, sort="-value", limit=2)]
                retest = await client.retest(search_id, top_k=1, repeats=2)
                return kinds, search, best, await client.trials_csv(search_id), retest

        kinds, search, best, csv_text, retest = asyncio.run(session())
        run_worker(settings, burst=True)
        configurations = asyncio.run(_configurations(url, retest["id"]))
    assert kinds[0] == "search_created" and kinds[-1] == "search_completed"
    assert search["state"] == "completed"
    assert best[0]["value"] == search["best"]["value"]
    assert len(csv_text.splitlines()) == 1 + 4
    assert retest["parent_search_id"] == search_id
    assert [(c["params"], c["runs"]) for c in configurations] == [(best[0]["params"], 2)]


async def _configurations(url: str, search_id: int) -> list[dict[str, Any]]:
    async with AsyncCaviarClient(url) as client:
        return await client.configurations(search_id)


def test_the_async_client_has_every_method_of_the_sync_one() -> None:
    def public(cls: type) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")}

    # `optimize` runs your (blocking) objective in threads: async code awaits ask/report/tell itself.
    assert public(CaviarClient) - {"optimize"} <= public(AsyncCaviarClient)


def test_both_clients_branch_a_trial_and_a_refusal_names_the_field(settings: Settings) -> None:
    with serve(settings) as url:
        with CaviarClient(url) as client:
            search_id = client.submit(quick_spec(budget={"max_trials": 1, "max_parallel": 1}))["id"]
            trial_id = next(client.trials(search_id))["id"]
        with session_scope(settings.database_url) as session:
            run = claim_trial(session, trial_id, "worker-1")
            assert run is not None
            record_epoch(session, run, 1, {"dev_accuracy": 0.5}, {}, b"after 1")
        with CaviarClient(url) as client:
            synced = client.branch(trial_id, 1, learning_rate=0.002)
            with pytest.raises(CaviarAPIError) as refused:
                client.branch(trial_id, 2)

        async def branch() -> dict[str, Any]:
            async with AsyncCaviarClient(url) as client:
                return await client.branch(trial_id, 1, keep_prob=0.9)

        awaited = asyncio.run(branch())
    assert (synced["parent_trial_id"], synced["branch_step"], synced["branch_params"]) == (
        trial_id,
        1,
        {"learning_rate": 0.002},
    )
    assert awaited["branch_params"] == {"keep_prob": 0.9} and awaited["id"] != synced["id"]
    assert refused.value.status_code == 422 and refused.value.field == "from_step"
