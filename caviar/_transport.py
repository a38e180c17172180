"""What both clients do around sending a request: retries with backoff, and ETag revalidation.

Retries (tenacity): a refused connection is always retried (the server saw nothing); a 503, a timeout
or a dropped connection only for a call that is safe to repeat (GET, or a POST with an Idempotency-Key).
A 503 is retried after its `Retry-After` when it has one, else after exponential backoff with jitter.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from caviar._calls import Call
from caviar._errors import CaviarAPIError, raise_for_error

ETAG_CACHE_SIZE = 64
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a call is retried; `RetryPolicy(attempts=1)` turns retries off."""

    attempts: int = 5
    initial_wait: float = 0.2
    max_wait: float = 10.0
    max_total: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"`attempts` must be at least 1, got {self.attempts}")

    def options(self, call: Call) -> dict[str, Any]:
        """Keyword arguments for tenacity's `Retrying` / `AsyncRetrying` for this call."""
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.initial_wait, max=self.max_wait, jitter=self.initial_wait
        )

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, CaviarAPIError) and error.retry_after is not None:
                return min(error.retry_after, self.max_wait)
            return float(backoff(state))

        return {
            "retry": tenacity.retry_if_exception(lambda error: _retryable(call, error)),
            "wait": wait,
            "stop": tenacity.stop_after_attempt(self.attempts) | tenacity.stop_after_delay(self.max_total),
            "reraise": True,
        }


def _retryable(call: Call, error: BaseException) -> bool:
    if isinstance(error, NEVER_SENT):
        return True
    if not call.safe_to_repeat:
        return False
    if isinstance(error, CaviarAPIError):
        return error.status_code == 503
    return isinstance(error, httpx.TimeoutException | httpx.RemoteProtocolError | httpx.ReadError)


class ETagCache:
    """The last ETag and body of recent GET answers, so a poll of something unchanged costs a `304`."""

    def __init__(self, size: int = ETAG_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()  # url -> (ETag, body)

    def prepare(self, request: httpx.Request) -> None:
        cached = self._entries.get(str(request.url)) if request.method == "GET" else None
        if cached is not None:
            request.headers["If-None-Match"] = cached[0]

    def content(self, request: httpx.Request, response: httpx.Response) -> bytes:
        """The body to decode: the cached one on a `304`; raises CaviarAPIError for an error answer."""
        key = str(request.url)
        cached = self._entries.get(key)
        if response.status_code == 304 and cached is not None:
            self._entries.move_to_end(key)
            return cached[1]
        raise_for_error(response)
        if request.method == "GET" and "etag" in response.headers:
            self._entries[key] = (response.headers["etag"], response.content)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return response.content


def build_request(http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
    headers = dict(call.headers)
    if call.method != "GET" and call.files is None:
        # The API refuses writes that are not JSON (a browser's cross-site "simple" requests), even
        # bodiless ones such as a cancel.
        headers.setdefault("Content-Type", "application/json")
    return http.build_request(
        call.method,
        call.path,
        params=call.params,
        json=call.json,
        headers=headers,
        files=call.files,
        data=call.data,
    )


def decode_json(content: bytes) -> Any:
    """A fresh object each time: callers may change what they get (even a cached body). An empty body
    (`204 No Content`, an ask with nothing to hand out) is an empty object."""
    return json.loads(content) if content else {}
