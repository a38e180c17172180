"""The asyncio client: the same methods as `CaviarClient`, awaited (for notebooks and async services)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx
import tenacity

from caviar._calls import Call, EventCursor, Pager, Watch
from caviar._endpoints import Endpoints
from caviar._errors import raise_for_error
from caviar._sse import aiter_events
from caviar._sync import EVENTS_READ_TIMEOUT, STREAM_ERRORS, Json
from caviar._transport import build_request, decode_json

Progress = Callable[[Json], None | Awaitable[None]]


class AsyncCaviarClient(
    Endpoints[Awaitable[Json], Awaitable[list[Json]], Awaitable[str], AsyncIterator[Json]]
):
    """Use as `async with AsyncCaviarClient(url) as client:` so the connection pool is closed."""

    def _connect(self, base_url: str, timeout: float, options: dict[str, Any]) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, **options)

    async def __aenter__(self) -> AsyncCaviarClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> bytes:
        content: bytes = await tenacity.AsyncRetrying(**self._retry.options(call))(self._send_once, call)
        return content

    async def _send_once(self, call: Call) -> bytes:
        request = build_request(self._http, call)
        self._etags.prepare(request)
        return self._etags.content(request, await self._http.send(request))

    async def _object(self, call: Call) -> Json:
        result: Json = decode_json(await self._send(call))
        return result

    async def _array(self, call: Call) -> list[Json]:
        result: list[Json] = decode_json(await self._send(call))
        return result

    async def _text(self, call: Call) -> str:
        return (await self._send(call)).decode()

    async def _items(self, pager: Pager) -> AsyncIterator[Json]:
        while (call := pager.next_call()) is not None:
            for item in pager.take(await self._object(call)):
                yield item

    async def _all_items(self, pager: Pager) -> list[Json]:
        return [item async for item in self._items(pager)]

    async def events(self, search_id: int, *, after: int | None = None) -> AsyncIterator[Json]:
        """Events as they happen until the search ends; a dropped stream resumes after the last event."""
        cursor = EventCursor(search_id, after)
        timeout = httpx.Timeout(self._http.timeout.connect, read=EVENTS_READ_TIMEOUT)
        while True:
            try:
                request = self._http.stream("GET", cursor.path, headers=cursor.headers, timeout=timeout)
                async with request as stream:
                    if stream.is_error:
                        await stream.aread()
                        raise_for_error(stream)
                    async for message in aiter_events(stream.aiter_lines()):
                        event, last = cursor.accept(message.data)
                        yield event
                        if last:
                            return
            except STREAM_ERRORS:
                await asyncio.sleep(1.0)
                continue
            return

    async def wait(
        self,
        search_id: int,
        *,
        poll_seconds: float = 1.0,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> Json:
        """Poll until the search is completed or cancelled; `on_progress` (sync or async) gets each poll."""
        watch = Watch(search_id, timeout)
        while True:
            search = await self.search(search_id)
            if on_progress is not None and (outcome := on_progress(search)) is not None:
                await outcome
            if watch.finished(search):
                return search
            await asyncio.sleep(poll_seconds)
