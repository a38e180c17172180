"""Request bodies are bounded before anything parses them, and JSON bodies are sane before a route sees them.

An ASGI middleware: a body over its limit is refused with 413 without being read into memory (at once
from `Content-Length`, or as soon as the stream passes the limit); a JSON body nested deeper than
`max_json_depth`, holding an integer beyond 64 bits or a string with a lone UTF-16 surrogate is
refused with 422. Malformed JSON passes through, for the route to answer in its own words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response
from app.settings import Settings

MAX_INT = 2**63 - 1
UPLOAD_PATHS = frozenset({"/datasets"})
"""Routes taking multipart uploads: bounded by `max_dataset_bytes` (plus the form's own overhead)."""
_MULTIPART_OVERHEAD = 64 * 1024
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class _TooLarge(Exception):
    """Raised into the app when the streamed body passes its limit."""


class _IntegerTooLarge(ValueError):
    """An integer literal beyond 64 bits (they overflow NumPy, the databases and C libraries alike)."""


def _bounded_int(digits: str) -> int:
    if len(digits) > 20:
        raise _IntegerTooLarge
    value = int(digits)
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise _IntegerTooLarge
    return value


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value and key in a parsed JSON document with its depth, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def json_problem(body: bytes, max_depth: int) -> str | None:
    """Why a JSON body cannot be accepted, or None (malformed JSON included: the route reports it)."""
    try:
        document = json.loads(body, parse_int=_bounded_int)
    except _IntegerTooLarge:
        return "integers must fit in 64 bits (at most 9223372036854775807 in magnitude)"
    except RecursionError:
        return f"the body is nested too deeply (at most {max_depth} levels of arrays and objects)"
    except ValueError:
        return None
    for item, depth in _walk(document):
        if depth > max_depth:
            return f"the body is nested too deeply (at most {max_depth} levels of arrays and objects)"
        if isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "strings must be valid Unicode (a lone UTF-16 surrogate such as \\ud800 is not)"
    return None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def is_json(content_type: bytes | None) -> bool:
    media_type = (content_type or b"").split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or media_type.endswith(b"+json")


class BodyGuard:
    """Refuse oversized bodies (413) and insane JSON (422) in the one error shape, before any parsing."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def limit_for(self, path: str) -> int:
        if path in UPLOAD_PATHS:
            return self.settings.max_dataset_bytes + _MULTIPART_OVERHEAD
        return self.settings.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
            await self._too_large(limit, scope, receive, send)
            return
        if is_json(_header(scope, b"content-type")):
            await self._json(limit, scope, receive, send)
        else:
            await self._streamed(limit, scope, receive, send)

    async def _json(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(limit, scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = json_problem(body, self.settings.max_json_depth)
        if problem is not None:
            await error_response(422, "invalid_request", problem)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _streamed(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        size = 0
        exceeded = False
        response_started = False

        async def counted() -> Message:
            nonlocal size, exceeded
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                exceeded = True
                raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:
                return  # whatever the app made of the interrupted body; the 413 below replaces it
            response_started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            # _TooLarge itself, or whatever the app turned it into
            if not exceeded:
                raise
        if exceeded and not response_started:
            await self._too_large(limit, scope, receive, send)

    async def _too_large(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "payload_too_large", f"the request body must be at most {limit} bytes", None, limit=limit
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
