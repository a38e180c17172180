"""What a web page in a visitor's browser must not be able to do to a Caviar it can reach.

- **No state change through a "simple" request.** A page may POST cross-site without asking (no CORS
  preflight) only with no body or a form/text content type; Caviar refuses every state-changing
  request that is not `application/json` (or `multipart/form-data` for dataset uploads) with 415,
  so such a page cannot cancel or create anything.
- **Only our own names in `Host`.** DNS rebinding points an attacker's domain at 127.0.0.1; the
  browser then sends that domain as `Host`. Requests naming a host outside `CAVIAR_ALLOWED_HOSTS`
  are refused with 400.
- **CORS off** unless `CAVIAR_CORS_ORIGINS` names the origins that may call the API from a browser.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.body_guard import UPLOAD_PATHS, is_json
from app.api.errors import error_response
from app.settings import Settings

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((bytes(value) for key, value in scope["headers"] if key == name), None)


def host_name(host_header: str) -> str:
    """`example.com:8000` -> `example.com`; `[::1]:8000` -> `[::1]`."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower()
    for pattern in allowed:
        pattern = pattern.lower()
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class HostGuard:
    """400 in the error shape for a `Host` header outside the allow-list (`*` allows any)."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "*" not in self.allowed_hosts:
            host = host_name((_header(scope, b"host") or b"").decode("latin-1"))
            if not host_allowed(host, self.allowed_hosts):
                message = f"host {host[:100]!r} is not served here; add it to CAVIAR_ALLOWED_HOSTS"
                await error_response(400, "invalid_host", message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class JsonOnlyWrites:
    """415 in the error shape for a state-changing request that a browser could send without CORS.

    Only requests some route takes: a wrong method or path still gets its 405 or 404.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    def _routed(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in STATE_CHANGING and self._routed(scope):
            content_type = _header(scope, b"content-type")
            multipart = (content_type or b"").lower().startswith(b"multipart/form-data")
            if not (is_json(content_type) or (multipart and scope["path"] in UPLOAD_PATHS)):
                expected = "multipart/form-data" if scope["path"] in UPLOAD_PATHS else "application/json"
                message = f"send `Content-Type: {expected}` (even with an empty body)"
                await error_response(415, "unsupported_media_type", message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_browser_safety(app: FastAPI, settings: Settings) -> None:
    """Add the guards; call after the other middleware so that these run first."""
    app.add_middleware(JsonOnlyWrites, routes=app.routes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Content-Type",
                "Idempotency-Key",
                "If-None-Match",
                "Last-Event-ID",
                "Authorization",
            ],
            expose_headers=["ETag", "Location", "Retry-After"],
        )
    app.add_middleware(HostGuard, allowed_hosts=settings.allowed_hosts)
