"""Reading a search's event log in id order, safely, for Server-Sent Events and resuming clients.

Event ids come from one sequence shared by every writer. On PostgreSQL two transactions can commit
out of id order (a worker's epoch report with id 10 commits after another's with id 11): a reader
that had sent 11 and resumed after it would never see 10. So a poll hands out events only up to the
first gap in the global id sequence, unless that gap is older than `GAP_SETTLE_SECONDS` (judged by
the created_at of the first visible event after it), after which the missing id is taken as a rolled
back transaction. SQLite serializes writers, so it never shows such a gap.

A poll also says how far the reader has now seen everything (`position`): a stream joining a shared
feed that started at a later id asks for that id (`through`), and moves up to it once no event of its
search below it can still appear, even when none of them is the search's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.domain.trial_state import SearchState
from app.errors import NotFound
from app.storage.models import Event, utcnow
from app.storage.repositories import EventRepository, SearchRepository

FINAL_KINDS = frozenset({"search_completed", "search_cancelled", "search_failed"})
GAP_SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class FeedEvent:
    id: int
    search_id: int
    kind: str
    trial_id: int | None
    payload: dict[str, Any]
    created_at: datetime

    @property
    def is_final(self) -> bool:
        return self.kind in FINAL_KINDS


@dataclass(frozen=True)
class FeedPoll:
    """Events after the reader's position; `finished` and `caught_up` together mean: nothing will follow.

    `position`: every event of the search with an id up to it has been handed out or never will be.
    """

    events: list[FeedEvent]
    finished: bool
    caught_up: bool
    position: int

    @property
    def ends_stream(self) -> bool:
        return any(event.is_final for event in self.events) or (
            self.finished and self.caught_up and not self.events
        )


def poll_events(
    session: Session,
    search_id: int,
    after_id: int,
    *,
    limit: int = 500,
    through: int | None = None,
    now: datetime | None = None,
) -> FeedPoll:
    """Committed events of the search with id > `after_id`, in id order, never skipping a pending one;
    with `through`, the position also moves up to `through` as far as no event can still appear."""
    # The search state first: the final event commits with it, so a finished state read here
    # guarantees the final event is visible to the read below.
    search = SearchRepository(session).get(search_id)
    if search is None:
        raise NotFound(f"search {search_id} does not exist")
    finished = search.state != SearchState.RUNNING
    events = EventRepository(session)
    rows = list(events.after(search_id, after_id, limit=limit))
    full_page = len(rows) == limit
    high = rows[-1].id if rows else after_id
    if through is not None and not full_page:
        high = max(high, through)  # past the last row: no row of the search lies between
    if high == after_id:
        return FeedPoll([], finished, caught_up=True, position=after_id)
    cutoff = (now or utcnow()) - timedelta(seconds=GAP_SETTLE_SECONDS)
    settled = _settled_up_to(events, after_id, high, cutoff)
    ready = [_feed_event(row) for row in rows if row.id <= settled]
    caught_up = len(ready) == len(rows) and not full_page
    return FeedPoll(ready, finished, caught_up=caught_up, position=settled)


def _settled_up_to(events: EventRepository, after_id: int, high_id: int, cutoff: datetime) -> int:
    """The largest id up to which no event can still appear (or `high_id` if there is no open gap)."""
    if events.count_between(after_id, high_id) == high_id - after_id:
        return high_id
    expected = after_id + 1
    for event_id, created_at in events.stamps_between(after_id, high_id):
        if event_id != expected and created_at > cutoff:
            return expected - 1  # ids expected..event_id-1 may belong to transactions still open
        expected = event_id + 1
    return expected - 1


def _feed_event(row: Event) -> FeedEvent:
    return FeedEvent(
        id=row.id,
        search_id=row.search_id,
        kind=row.kind,
        trial_id=row.trial_id,
        payload=dict(row.payload or {}),
        created_at=row.created_at,
    )
