"""The asyncio twin of CaviarClient: the same methods, awaited (for notebooks and async services)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from app.client import (
    DEFAULT_API_URL,
    EVENTS_READ_TIMEOUT,
    FINAL_EVENT_KINDS,
    FINISHED_STATES,
    event_of,
    raise_for_error,
    retest_body,
    trial_query,
)
from app.sse import aiter_events

Progress = Callable[[dict[str, Any]], None | Awaitable[None]]


class AsyncCaviarClient:
    """Use as `async with AsyncCaviarClient(url) as client:` so the connection pool is closed."""

    def __init__(
        self, base_url: str = DEFAULT_API_URL, *, timeout: float = 30.0, **httpx_options: Any
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, **httpx_options)

    async def __aenter__(self) -> AsyncCaviarClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        raise_for_error(response)
        return response.json()

    async def submit(self, spec: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result: dict[str, Any] = await self._request("POST", "/searches", json=dict(spec), headers=headers)
        return result

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", "/healthz")
        return result

    async def search(self, search_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/searches/{search_id}")
        return result

    async def cancel(self, search_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", f"/searches/{search_id}/cancel")
        return result

    async def best(self, search_id: int, k: int = 5) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request(
            "GET", f"/searches/{search_id}/best", params={"k": k}
        )
        return result

    async def trial(self, trial_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/trials/{trial_id}")
        return result

    async def trials(
        self,
        search_id: int,
        *,
        state: str | Sequence[str] | None = None,
        sort: str | None = None,
        updated_since: datetime | str | None = None,
        limit: int | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[dict[str, Any]]:
        params = trial_query(state=state, sort=sort, updated_since=updated_since)
        async for trial in self._pages(f"/searches/{search_id}/trials", params, limit, page_size):
            yield trial

    async def find_trials(
        self,
        *,
        objective: str | None = None,
        dataset: str | None = None,
        search_id: int | None = None,
        state: str | Sequence[str] | None = None,
        sort: str | None = None,
        limit: int | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[dict[str, Any]]:
        params = trial_query(
            state=state, sort=sort, objective=objective, dataset=dataset, search_id=search_id
        )
        async for trial in self._pages("/trials", params, limit, page_size):
            yield trial

    async def _pages(
        self, path: str, params: dict[str, Any], limit: int | None, page_size: int
    ) -> AsyncIterator[dict[str, Any]]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            page = await self._request("GET", path, params={**params, "limit": size})
            items = page["items"] if remaining is None else page["items"][:remaining]
            for item in items:
                yield item
            if remaining is not None:
                remaining -= len(items)
            if not page["next_cursor"]:
                return
            params = {**params, "cursor": page["next_cursor"]}

    async def events(self, search_id: int, *, after: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """Events as they happen until the search ends; a dropped stream resumes after the last event."""
        last_id = after
        while True:
            headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
            timeout = httpx.Timeout(self._http.timeout.connect, read=EVENTS_READ_TIMEOUT)
            try:
                path = f"/searches/{search_id}/events"
                async with self._http.stream("GET", path, headers=headers, timeout=timeout) as response:
                    if response.is_error:
                        await response.aread()
                        raise_for_error(response)
                    async for message in aiter_events(response.aiter_lines()):
                        event = event_of(message.data)
                        last_id = event["id"]
                        yield event
                        if event["kind"] in FINAL_EVENT_KINDS:
                            return
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError):
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
    ) -> dict[str, Any]:
        """Poll until the search is completed or cancelled; `on_progress` (sync or async) gets each poll."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            search = await self.search(search_id)
            if on_progress is not None:
                outcome = on_progress(search)
                if outcome is not None:
                    await outcome
            if search["state"] in FINISHED_STATES:
                return search
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"search {search_id} still {search['state']} after {timeout} s")
            await asyncio.sleep(poll_seconds)

    async def trials_csv(self, search_id: int, *, state: str | Sequence[str] | None = None) -> str:
        response = await self._http.get(f"/searches/{search_id}/trials.csv", params=trial_query(state=state))
        raise_for_error(response)
        return response.text

    async def workers(self, *, alive: bool | None = None) -> list[dict[str, Any]]:
        params = {} if alive is None else {"alive": alive}
        return [worker async for worker in self._pages("/workers", params, None, 500)]

    async def importance(self, search_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/searches/{search_id}/importance")
        return result

    async def metrics(self) -> str:
        response = await self._http.get("/metrics")
        raise_for_error(response)
        return response.text

    async def retest(
        self,
        search_id: int,
        *,
        top_k: int = 3,
        repeats: int = 3,
        dataset: str | Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = retest_body(top_k, repeats, dataset)
        result: dict[str, Any] = await self._request("POST", f"/searches/{search_id}/retest", json=body)
        return result

    async def configurations(self, search_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request("GET", f"/searches/{search_id}/configurations")
        return result
