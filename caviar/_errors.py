"""The client's error: what the API said went wrong, from its one error body shape."""

from __future__ import annotations

import httpx


class CaviarAPIError(Exception):
    """The API answered with an error; `code`, `message` and `field` come from its error body.

    `retry_after` is the server's `Retry-After` in seconds (503 while it starts or drains), else None.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        field: str | None,
        *,
        retry_after: float | None = None,
    ) -> None:
        where = f" (field {field})" if field else ""
        super().__init__(f"{status_code} {code}: {message}{where}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after


def raise_for_error(response: httpx.Response) -> None:
    """Raise CaviarAPIError for an error response, with the code, message and field of its body."""
    if not response.is_error:
        return
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {"code": "http_error", "message": response.text, "field": None}
    raise CaviarAPIError(
        response.status_code,
        error["code"],
        error["message"],
        error.get("field"),
        retry_after=_seconds(response.headers.get("retry-after")),
    )


def _seconds(retry_after: str | None) -> float | None:
    """`Retry-After` as seconds; the HTTP-date form is not used by our server, so it counts as absent."""
    if retry_after is None:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        return None
