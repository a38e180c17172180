"""The blocking client: sends each `Call` of `Endpoints` with retries and ETag revalidation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx
import tenacity

from caviar._calls import Call, EventCursor, Pager, Watch
from caviar._endpoints import Endpoints
from caviar._errors import raise_for_error
from caviar._optimize import AskedTrial, optimize
from caviar._sse import iter_events
from caviar._transport import build_request, decode_json

EVENTS_READ_TIMEOUT = 60.0  # the server sends a keepalive comment every 15 s
STREAM_ERRORS = (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError)

Json = dict[str, Any]


class CaviarClient(Endpoints[Json, list[Json], str, Iterator[Json]]):
    """Sync client; use as a context manager so the connection pool is closed.

    GET answers are revalidated with their ETag: an unchanged poll costs the server a `304`. Failed calls
    are retried as `retry` says (see `RetryPolicy`).
    """

    def _connect(self, base_url: str, timeout: float, options: dict[str, Any]) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, **options)

    def __enter__(self) -> CaviarClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> bytes:
        return tenacity.Retrying(**self._retry.options(call))(self._send_once, call)

    def _send_once(self, call: Call) -> bytes:
        request = build_request(self._http, call)
        self._etags.prepare(request)
        return self._etags.content(request, self._http.send(request))

    def _object(self, call: Call) -> Json:
        result: Json = decode_json(self._send(call))
        return result

    def _array(self, call: Call) -> list[Json]:
        result: list[Json] = decode_json(self._send(call))
        return result

    def _text(self, call: Call) -> str:
        return self._send(call).decode()

    def _items(self, pager: Pager) -> Iterator[Json]:
        while (call := pager.next_call()) is not None:
            yield from pager.take(self._object(call))

    def _all_items(self, pager: Pager) -> list[Json]:
        return list(self._items(pager))

    def events(self, search_id: int, *, after: int | None = None) -> Iterator[Json]:
        """The search's events as they happen, in order, until it completes or is cancelled.

        Each event is `{"id", "search_id", "kind", "trial_id", "created_at", "payload"}`. A dropped
        connection is resumed after the last event received (`Last-Event-ID`), so none is missed.
        """
        cursor = EventCursor(search_id, after)
        timeout = httpx.Timeout(self._http.timeout.connect, read=EVENTS_READ_TIMEOUT)
        while True:
            try:
                with self._http.stream("GET", cursor.path, headers=cursor.headers, timeout=timeout) as stream:
                    if stream.is_error:
                        stream.read()
                        raise_for_error(stream)
                    for message in iter_events(stream.iter_lines()):
                        event, last = cursor.accept(message.data)
                        yield event
                        if last:
                            return
            except STREAM_ERRORS:
                time.sleep(1.0)  # the server restarted or a proxy cut the stream: resume
                continue
            return  # the server ended the stream: the search had already finished

    def optimize(
        self,
        search_id: int,
        objective: Callable[[AskedTrial], Mapping[str, float]],
        *,
        n_trials: int | None = None,
        n_jobs: int = 1,
        asker: str | None = None,
    ) -> list[Json]:
        """Evaluate an `external` search's trials in this process: `objective(trial)` uses `trial.params`,
        `trial.report(step, **metrics)` and `trial.should_stop()`, and returns the metrics. Runs `n_jobs`
        at a time until the search finishes or `n_trials` were told; returns the trials told."""
        return optimize(self, search_id, objective, n_trials=n_trials, n_jobs=n_jobs, asker=asker)

    def wait(
        self,
        search_id: int,
        *,
        poll_seconds: float = 1.0,
        timeout: float | None = None,
        on_progress: Callable[[Json], None] | None = None,
    ) -> Json:
        """Poll until the search is completed or cancelled; `on_progress` gets each polled search."""
        watch = Watch(search_id, timeout)
        while True:
            search = self.search(search_id)
            if on_progress is not None:
                on_progress(search)
            if watch.finished(search):
                return search
            time.sleep(poll_seconds)
