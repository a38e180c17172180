"""The client's error: what the API said went wrong, from its one error body shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx


class CaviarAPIError(Exception):
    """The API answered with an error; `code`, `message` and `field` come from its error body.

    `problems` lists every problem the API found (`field: message`; a request with several invalid fields
    has several), and the error's text names them all. `retry_after` is the server's `Retry-After` in
    seconds (503 while it starts or drains), else None.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        field: str | None,
        *,
        details: Sequence[Mapping[str, Any]] = (),
        retry_after: float | None = None,
    ) -> None:
        self.problems = [_problem(detail) for detail in details] or [
            f"{field}: {message}" if field and not message.startswith(f"{field}:") else message
        ]
        super().__init__(f"{status_code} {code}: {'; '.join(self.problems)}")
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
        details=error.get("details") or (),
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


def _problem(detail: Mapping[str, Any]) -> str:
    """`budget.max_trials: Input should be a valid integer` from one request-validation detail."""
    location = [str(part) for part in detail.get("loc", ()) if part not in ("body", "query", "path")]
    message = str(detail.get("msg", "invalid"))
    return f"{'.'.join(location)}: {message}" if location else message
