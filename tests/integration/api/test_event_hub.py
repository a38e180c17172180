"""Many event streams on one search cost one database read per tick, not one per stream, and each
stream still gets every event once, in order, whether it joined first or resumed from far behind."""

from __future__ import annotations

import asyncio
import json
import re

import httpx

from app.services.event_feed import poll_events
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.repositories import EventRepository
from caviar import CaviarClient
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve

STREAMS = 40
TICKS = 4  # of the hub's 0.5 s


def add_epoch(settings: Settings, search_id: int, step: int) -> None:
    with session_scope(settings.database_url) as session:
        EventRepository(session).add(search_id, "epoch", step=step)


def metric(http_text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", http_text, re.MULTILINE)
    assert found, f"{name} missing from /metrics"
    return float(found.group(1))


class Follower:
    """One open stream: the (id, kind, step) of every event it received."""

    def __init__(self, http: httpx.AsyncClient, search_id: int, after: int = 0) -> None:
        self.received: list[tuple[int, str, int | None]] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._follow(http, search_id, after))

    async def _follow(self, http: httpx.AsyncClient, search_id: int, after: int) -> None:
        async with http.stream("GET", f"/searches/{search_id}/events", params={"after": after}) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[len("data: ") :])
                    self.received.append((event["id"], event["kind"], event["payload"].get("step")))
                    self.arrived.set()

    async def until(self, count: int) -> None:
        while len(self.received) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 20)


async def watch_with_many_streams(url: str, settings: Settings, search_id: int) -> None:
    limits = httpx.Limits(max_connections=STREAMS + 10)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        followers = [Follower(http, search_id) for _ in range(STREAMS)]
        await asyncio.gather(*(follower.until(1) for follower in followers))  # search_created

        before = (await http.get("/metrics")).text
        assert metric(before, "caviar_event_streams_open") == STREAMS
        await asyncio.sleep(TICKS * 0.5)
        after = (await http.get("/metrics")).text
        reads = metric(after, "caviar_event_stream_reads_total") - metric(
            before, "caviar_event_stream_reads_total"
        )
        # One read per tick for the search (one per stream per tick made STREAMS * TICKS).
        assert reads <= TICKS + 2, reads
        assert (await http.get(f"/searches/{search_id}")).status_code == 200

        for step in (1, 2, 3):
            await asyncio.to_thread(add_epoch, settings, search_id, step)
        await asyncio.gather(*(follower.until(4) for follower in followers))
        # One more stream, resuming from the start while the feed is past it: it reads its backlog alone.
        late = Follower(http, search_id)
        await late.until(4)
        await asyncio.to_thread(add_epoch, settings, search_id, 4)
        await asyncio.gather(*(follower.until(5) for follower in [*followers, late]))

        expected = followers[0].received
        assert [kind for _, kind, _ in expected] == ["search_created", "epoch", "epoch", "epoch", "epoch"]
        assert [step for _, _, step in expected[1:]] == [1, 2, 3, 4]
        assert all(follower.received == expected for follower in [*followers, late])

        for follower in [*followers, late]:
            follower.task.cancel()
        await asyncio.gather(*(follower.task for follower in [*followers, late]), return_exceptions=True)
        for _ in range(50):
            if metric((await http.get("/metrics")).text, "caviar_event_streams_open") == 0:
                break
            await asyncio.sleep(0.1)
        assert metric((await http.get("/metrics")).text, "caviar_event_streams_open") == 0


def test_many_streams_on_a_search_share_one_read_per_tick_and_each_gets_every_event(
    settings: Settings,
) -> None:
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(quick_spec())["id"]  # no worker: it stays running
        asyncio.run(watch_with_many_streams(url, settings, search_id))


def test_a_poll_through_a_later_id_moves_past_other_searches_events(settings: Settings) -> None:
    with serve(settings) as url, CaviarClient(url) as client:
        watched = client.submit(quick_spec())["id"]
        other = client.submit(quick_spec())["id"]
    with session_scope(settings.database_url) as session:
        created = poll_events(session, watched, 0).position
        others = poll_events(session, other, 0).position
        assert others > created
        # No event of `watched` lies between: a reader at `created` has seen all of them up to `others`.
        caught_up = poll_events(session, watched, created, through=others)
        assert (caught_up.events, caught_up.position) == ([], others)
        assert poll_events(session, watched, created).position == created
