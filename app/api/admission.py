"""At most `max_concurrent_requests` API requests are worked on at once; the others wait their turn in
the event loop, holding no thread and no database connection, and one that waited
`admission_timeout_seconds` is answered 503 with `Retry-After`.

Without it, a burst of about 60 requests took all 40 threads of the pool that runs sync routes, most of
them waiting for one of the 15 database connections; the API froze for 30 s, then answered 500s.
Event streams (open for as long as a search runs), the dashboard's files and the health probe are not
counted: they hold no connection while they wait.
"""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import busy_response

EXEMPT = re.compile(r"^/(healthz$|$|favicon|dashboard/(static|vendor)/|docs|redoc|searches/\d+/events$)")


class AdmissionLimit:
    def __init__(self, app: ASGIApp, *, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout
        # One per event loop: a semaphore belongs to the loop it first waits in (tests run apps in
        # several).
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or EXEMPT.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        slots = self._slots.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(self.limit))
        try:
            await asyncio.wait_for(slots.acquire(), self.timeout)
        except TimeoutError:
            why = f"{self.limit} requests in progress, this one waited {self.timeout:g} s"
            await busy_response(why)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
