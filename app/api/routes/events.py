"""/searches/{id}/events: a search's progress as Server-Sent Events, read from the database.

Streams read the database's event log (any API process, on any machine, can serve any stream), through
one shared read per search and tick in each process (app/api/event_hub.py); no stream holds a
connection or transaction while it waits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import SettingsDep
from app.api.event_hub import PAGE_SIZE, POLL_SECONDS, EventHub, SearchFeed, event_hub
from app.api.params import SearchId
from app.api.schemas import ErrorResponse
from app.errors import InvalidSpec
from app.services.event_feed import FeedEvent
from app.services.searches import get_search
from app.sse import comment, format_event
from app.storage.db import read_session_scope
from app.storage.keyset import MAX_INT

router = APIRouter(prefix="/searches", tags=["events"])

KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 1000

EXAMPLE_STREAM = (
    "retry: 1000\n\n"
    'id: 7\nevent: trial_completed\ndata: {"id": 7, "search_id": 1, "kind": "trial_completed", '
    '"trial_id": 3, "created_at": "2026-11-24T10:00:03.120000+00:00", "payload": {"value": 0.97}}\n\n'
    'id: 9\nevent: search_completed\ndata: {"id": 9, "search_id": 1, "kind": "search_completed", '
    '"trial_id": null, "created_at": "2026-11-24T10:00:04.500000+00:00", "payload": {}}\n\n'
)


@router.get(
    "/{search_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An endless `text/event-stream` until the search completes, fails or is "
            "cancelled: `id` is the event id, `event` its kind, `data` the event as JSON.",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": EXAMPLE_STREAM}},
        },
        404: {"model": ErrorResponse, "description": "No such search."},
    },
)
async def stream_events(
    search_id: SearchId,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(max_length=20, description="Resume after this event id (browsers send it on reconnect)."),
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_INT, description="Resume after this event id (for clients without headers)."),
    ] = None,
) -> StreamingResponse:
    """Live progress: search_created, round_advanced, trial_started, epoch, trial_completed, trial_pruned,
    trial_failed, trial_requeued, trial_resumed, then search_completed, search_failed or search_cancelled,
    which ends the stream."""
    start = _resume_position(last_event_id, after)
    await run_in_threadpool(_check_search, settings.database_url, search_id)
    return StreamingResponse(
        _stream(event_hub(settings.database_url), search_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_position(last_event_id: str | None, after: int | None) -> int:
    if last_event_id is None or last_event_id == "":
        return after or 0
    if not last_event_id.isascii() or not last_event_id.isdigit() or int(last_event_id) > MAX_INT:
        raise InvalidSpec("Last-Event-ID", "must be an event id this stream sent")
    return int(last_event_id)


def _check_search(database_url: str, search_id: int) -> None:
    with read_session_scope(database_url) as session:
        get_search(session, search_id)


async def _stream(hub: EventHub, search_id: int, position: int) -> AsyncIterator[str]:
    """Reads alone until caught up, then from the search's shared feed (see app/api/event_hub.py)."""
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    hub.open_streams += 1
    feed: SearchFeed | None = None
    quiet = 0.0
    try:
        while True:
            if feed is not None and feed.serves(position):
                changed = feed.changed
                events = feed.after(position)
                for event in events:
                    yield _event_block(event)
                    position = event.id
                    if event.is_final:
                        return
                if feed.ended and not events:
                    return
                if events:
                    quiet = 0.0
                    continue
                try:
                    await asyncio.wait_for(changed.wait(), KEEPALIVE_SECONDS - quiet)
                    quiet = 0.0  # woken: new events (or the end)
                except TimeoutError:
                    yield comment("keepalive")
                    quiet = 0.0
                continue
            poll = await hub.read_alone(search_id, position, feed.start if feed else None)
            for event in poll.events:
                yield _event_block(event)
            moved = poll.position > position
            position = max(position, poll.position)
            if poll.ends_stream:
                return
            if len(poll.events) == PAGE_SIZE or moved:
                continue  # more is waiting, or the feed may serve it now
            if feed is None:
                feed = hub.join(search_id, position)
                continue
            # Behind the feed's start with an event still pending below it: wait for it to settle.
            quiet += POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                yield comment("keepalive")
                quiet = 0.0
            await asyncio.sleep(POLL_SECONDS)
    finally:
        hub.open_streams -= 1
        if feed is not None:
            hub.leave(feed)


def _event_block(event: FeedEvent) -> str:
    return format_event(json.dumps(_event_json(event)), event=event.kind, id=str(event.id))


def _event_json(event: FeedEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "search_id": event.search_id,
        "kind": event.kind,
        "trial_id": event.trial_id,
        "created_at": event.created_at.isoformat(),
        "payload": event.payload,
    }
