"""One database read per tick for all the event streams an API process serves, not one per stream.

Each stream used to poll the database every 0.5 s: 500 open streams made 1,000 reads a second, and
ordinary GETs queued behind them for threads and connections (9 ms → 2.8 s). Now a process keeps one
`SearchFeed` per watched search. One task reads the new events of every watched search in one session
per tick, keeps the latest `KEPT_EVENTS` of each, and wakes the streams, which copy from memory. A
stream that is behind a feed (it resumes from an old event id, or is slower than `KEPT_EVENTS` events)
reads its backlog itself, page by page, then joins.

The feed reads with `poll_events`, so it never skips an event committed out of id order, and a stream
joins a feed only once it has seen every event of its search up to where the feed started.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from starlette.concurrency import run_in_threadpool

from app.errors import NotFound
from app.services.event_feed import FeedEvent, FeedPoll, poll_events
from app.storage.db import read_session_scope

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
PAGE_SIZE = 500
KEPT_EVENTS = 2000
RETRY_SECONDS = 2.0  # after a failed read (database down): streams wait, they are not dropped


@dataclass(eq=False)
class SearchFeed:
    """A search's events from `start` on, as far as `cursor`: the latest `KEPT_EVENTS` in memory."""

    search_id: int
    start: int
    cursor: int
    recent: deque[FeedEvent] = field(default_factory=lambda: deque(maxlen=KEPT_EVENTS))
    forgotten: int = 0  # the highest id that fell out of `recent`
    ended: bool = False  # the search finished and its last event is in `recent` (or it is gone)
    streams: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def serves(self, position: int) -> bool:
        """Whether every event after `position` that this feed read is still in memory."""
        return position >= self.start and position >= self.forgotten

    def after(self, position: int) -> list[FeedEvent]:
        newer: list[FeedEvent] = []
        for event in reversed(self.recent):
            if event.id <= position:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def take(self, poll: FeedPoll) -> None:
        """Append a poll's events and wake the streams waiting for them."""
        for event in poll.events:
            if len(self.recent) == self.recent.maxlen:
                self.forgotten = self.recent[0].id
            self.recent.append(event)
        self.cursor = max(self.cursor, poll.position)
        if poll.ends_stream:
            self.ended = True
        if poll.events or self.ended:
            self.changed.set()
            self.changed = asyncio.Event()

    def end(self) -> None:
        self.ended = True
        self.changed.set()


class EventHub:
    """The feeds of one API process (one event loop) on one database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.feeds: dict[int, SearchFeed] = {}
        self.reads = 0  # database reads made for event streams, for /metrics
        self.open_streams = 0
        self._reader: asyncio.Task[None] | None = None
        self._failing = False

    def join(self, search_id: int, position: int) -> SearchFeed:
        """The search's feed, started at `position` if nobody watches the search yet."""
        feed = self.feeds.get(search_id)
        if feed is None:
            feed = self.feeds[search_id] = SearchFeed(search_id, start=position, cursor=position)
        feed.streams += 1
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_while_watched(), name="event-hub")
        return feed

    def leave(self, feed: SearchFeed) -> None:
        feed.streams -= 1
        if feed.streams == 0 and self.feeds.get(feed.search_id) is feed:
            del self.feeds[feed.search_id]
        if not self.feeds and self._reader is not None:
            self._reader.cancel()  # now, not after its sleep: the loop may be closing (tests)
            self._reader = None

    async def read_alone(self, search_id: int, position: int, through: int | None) -> FeedPoll:
        """One page for a stream that is not (yet) served by the search's feed."""
        return await run_in_threadpool(self._read_one, search_id, position, through)

    def _read_one(self, search_id: int, position: int, through: int | None) -> FeedPoll:
        self.reads += 1
        with read_session_scope(self.database_url) as session:
            return poll_events(session, search_id, position, limit=PAGE_SIZE, through=through)

    async def _read_while_watched(self) -> None:
        while self.feeds:
            feeds = [feed for feed in self.feeds.values() if not feed.ended]
            more_waiting = False
            if feeds:
                try:
                    polls = await run_in_threadpool(self._read, [(f.search_id, f.cursor) for f in feeds])
                except Exception as error:  # the database is down: keep the streams, try again
                    self._note_failure(error)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self._note_recovery()
                for feed, poll in zip(feeds, polls, strict=True):
                    if poll is None:
                        feed.end()  # the search was deleted
                        continue
                    feed.take(poll)
                    more_waiting |= len(poll.events) == PAGE_SIZE
            if not more_waiting:
                await asyncio.sleep(POLL_SECONDS)

    def _read(self, positions: Sequence[tuple[int, int]]) -> list[FeedPoll | None]:
        self.reads += 1
        polls: list[FeedPoll | None] = []
        with read_session_scope(self.database_url) as session:
            for search_id, position in positions:
                try:
                    polls.append(poll_events(session, search_id, position, limit=PAGE_SIZE))
                except NotFound:
                    polls.append(None)
        return polls

    def _note_failure(self, error: Exception) -> None:
        if not self._failing:
            log.warning("event streams: reading events failed (%s); trying every %g s", error, RETRY_SECONDS)
        self._failing = True

    def _note_recovery(self) -> None:
        if self._failing:
            log.warning("event streams: reading events works again")
        self._failing = False


_hubs: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, EventHub]] = WeakKeyDictionary()


def event_hub(database_url: str) -> EventHub:
    """This event loop's hub for the database (tests run apps on several loops; a task and an
    `asyncio.Event` belong to one)."""
    hubs = _hubs.setdefault(asyncio.get_running_loop(), {})
    hub = hubs.get(database_url)
    if hub is None:
        hub = hubs[database_url] = EventHub(database_url)
    return hub


def hub_counts() -> tuple[int, int]:
    """(open streams, database reads) over this process's hubs, for /metrics."""
    hubs = [hub for by_url in list(_hubs.values()) for hub in by_url.values()]
    return sum(hub.open_streams for hub in hubs), sum(hub.reads for hub in hubs)
