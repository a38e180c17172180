"""One API call as plain data, and the sans-I/O state of the calls that take several round trips.

The sync and async clients only differ in how they send a `Call`; paging, waiting and resuming an event
stream are decided here, once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

FINISHED_STATES = frozenset({"completed", "cancelled", "failed"})
FINAL_EVENT_KINDS = frozenset({"search_completed", "search_cancelled", "search_failed"})


@dataclass(frozen=True)
class Call:
    """A request to make. `retry_safe`: sending it twice does what sending it once does (GET, or a POST
    with an Idempotency-Key), so it is retried on a 503 or a dropped connection, not only on a refused one."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, tuple[str, bytes]] | None = None
    data: Mapping[str, str] | None = None
    retry_safe: bool | None = None

    @property
    def safe_to_repeat(self) -> bool:
        return self.method == "GET" if self.retry_safe is None else self.retry_safe


def trial_query(
    *,
    state: str | Sequence[str] | None = None,
    sort: str | None = None,
    updated_since: datetime | str | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Query parameters of the list endpoints (`state` may be one state or several)."""
    params: dict[str, Any] = {name: value for name, value in filters.items() if value is not None}
    if state:
        params["state"] = [state] if isinstance(state, str) else list(state)
    if sort:
        params["sort"] = sort
    if updated_since is not None:
        params["updated_since"] = (
            updated_since.isoformat() if isinstance(updated_since, datetime) else updated_since
        )
    return params


class Pager:
    """Follows `next_cursor` across pages until the list or `limit` items are exhausted."""

    def __init__(self, path: str, params: Mapping[str, Any], limit: int | None, page_size: int) -> None:
        if page_size < 1:
            raise ValueError(f"`page_size` must be at least 1, got {page_size}")
        self._path = path
        self._params = dict(params)
        self._remaining = limit
        self._page_size = page_size
        self._done = limit is not None and limit <= 0

    def next_call(self) -> Call | None:
        """The request for the next page, or None when there is nothing more to read."""
        if self._done:
            return None
        size = self._page_size if self._remaining is None else min(self._page_size, self._remaining)
        return Call("GET", self._path, params={**self._params, "limit": size})

    def take(self, page: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The items of a page just read (cut at the limit); remembers where the next page starts."""
        items: list[dict[str, Any]] = list(page["items"])
        if self._remaining is not None:
            items = items[: self._remaining]
            self._remaining -= len(items)
            self._done = self._remaining <= 0
        if not page["next_cursor"]:
            self._done = True
        self._params["cursor"] = page["next_cursor"]
        return items


class Watch:
    """When polling a search should stop: it finished, or `timeout` seconds went by (TimeoutError)."""

    def __init__(self, search_id: int, timeout: float | None) -> None:
        self._search_id = search_id
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def finished(self, search: Mapping[str, Any]) -> bool:
        if search["state"] in FINISHED_STATES:
            return True
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise TimeoutError(f"search {self._search_id} still {search['state']} after {self._timeout} s")
        return False


class EventCursor:
    """Where a search's event stream resumes after a dropped connection (`Last-Event-ID`)."""

    def __init__(self, search_id: int, after: int | None) -> None:
        self.path = f"/searches/{search_id}/events"
        self._last_id = after

    @property
    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self._last_id)} if self._last_id is not None else {}

    def accept(self, data: str) -> tuple[dict[str, Any], bool]:
        """The event in an SSE `data` field, and whether it is the search's last."""
        event: dict[str, Any] = json.loads(data)
        self._last_id = event["id"]
        return event, event["kind"] in FINAL_EVENT_KINDS
