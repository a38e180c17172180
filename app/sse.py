"""Writing Server-Sent Events (the WHATWG `text/event-stream` format); the clients read them with
`caviar._sse.SSEDecoder`."""

from __future__ import annotations


def format_event(
    data: str, *, event: str | None = None, id: str | None = None, retry: int | None = None
) -> str:
    """One event block; multi-line `data` becomes several `data:` lines, as the format requires."""
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    lines += [f"data: {line}" for line in data.split("\n")]
    return "\n".join(lines) + "\n\n"


def comment(text: str) -> str:
    """A comment line: ignored by readers, keeps proxies from closing an idle connection."""
    return f": {text}\n\n"
