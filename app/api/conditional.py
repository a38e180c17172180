"""ETags and `If-None-Match`: an unchanged poll costs one aggregate query and answers `304`.

An ETag is a hash of a cheap fingerprint of what the body is made of (rows per state and their newest
`updated_at`, not the body itself) plus the query string, so it is checked before any body is built.
ETags are weak (`W/"…"`): equal tags promise equal content, not equal bytes.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response, status

from app import __version__

NOT_MODIFIED_DOC: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not modified: `If-None-Match` names the current ETag. No body.",
        "headers": {"ETag": {"description": "The current ETag.", "schema": {"type": "string"}}},
    },
}
ETAG_HEADER_DOC: dict[str, Any] = {
    "ETag": {
        "description": 'Weak validator of this response, e.g. `W/"3f2a…"`; send it back as `If-None-Match`.',
        "schema": {"type": "string"},
    }
}


class NotModified(Exception):  # noqa: N818 - a response, not an error
    """Raised by a route once it knows the client already holds the current representation."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def etag_of(*parts: Any) -> str:
    digest = hashlib.sha256(repr((__version__, *parts)).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison of `etag` against an If-None-Match header (`*` or a comma-separated list)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(","))


class Conditional:
    """Route helper: `check(fingerprint…)` sets the ETag header, or raises NotModified when it matches."""

    def __init__(self, request: Request, response: Response, if_none_match: str | None) -> None:
        self._query = request.url.query
        self._path = request.url.path
        self._response = response
        self._if_none_match = if_none_match
        self.headers: dict[str, str] = {}
        """What `check` set, for routes that return a Response of their own."""

    def check(self, *fingerprint: Any) -> None:
        etag = etag_of(self._path, self._query, *fingerprint)
        if matches(self._if_none_match, etag):
            raise NotModified(etag)
        self.headers = {"ETag": etag, "Cache-Control": "no-cache"}
        self._response.headers.update(self.headers)


async def conditional(
    request: Request,
    response: Response,
    if_none_match: Annotated[
        str | None,
        Header(
            max_length=2000,
            description="ETag(s) from an earlier response; answered `304` if still current.",
        ),
    ] = None,
) -> Conditional:
    # async: it does no I/O, and FastAPI would run a plain function (or the class) in its thread pool.
    return Conditional(request, response, if_none_match)


ConditionalDep = Annotated[Conditional, Depends(conditional)]


async def _not_modified(_: Request, error: Exception) -> Response:
    assert isinstance(error, NotModified)
    return Response(
        status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": error.etag, "Cache-Control": "no-cache"}
    )


def install_not_modified_handler(app: FastAPI) -> None:
    app.add_exception_handler(NotModified, _not_modified)
