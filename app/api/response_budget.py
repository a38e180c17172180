"""What one response may hold (CAVIAR_MAX_RESPONSE_BYTES): list pages end early with a cursor, answers
that cannot page are refused with `ResponseTooLarge` naming what to ask for instead.

Items are serialised once, into the body itself: measuring costs no second pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from fastapi import Response

from app.api.pagination import encode_cursor
from app.errors import ResponseTooLarge
from app.services.listing import Listed

T = TypeVar("T")
CURSOR_ROOM = 1024
"""Bytes kept free for `next_cursor` (a sort value of at most a few hundred characters, base64)."""


def page_response(
    listed: Listed[T],
    item_json: Callable[[T], bytes],
    *,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`{"items", "next_cursor"}` of the items that fit in `max_bytes`; the page ends before the item that
    would pass it, with the cursor after the last one sent (as DynamoDB's 1 MB page cap does). The first
    item always goes: a page makes progress however large one item is."""
    parts: list[bytes] = []
    size = CURSOR_ROOM
    next_cursor = listed.next_cursor
    for index, item in enumerate(listed.items):
        encoded = item_json(item)
        size += len(encoded) + 1
        if parts and size > max_bytes:
            next_cursor = listed.cursor_after(index - 1)
            break
        parts.append(encoded)
    cursor = json.dumps(encode_cursor(next_cursor) if next_cursor is not None else None)
    body = b'{"items":[' + b",".join(parts) + b'],"next_cursor":' + cursor.encode() + b"}"
    return Response(body, media_type="application/json", headers=headers)


def list_response(
    encoded_items: Iterable[str], *, max_bytes: int, refuse: Callable[[int], ResponseTooLarge]
) -> Response:
    """A JSON array of every item, or `refuse(n)` (n: how many fit) as soon as they pass `max_bytes`:
    for short lists that have no cursor, where dropping the tail would hide it."""
    parts: list[bytes] = []
    size = 2
    for encoded in encoded_items:
        part = encoded.encode()
        size += len(part) + 1
        if size > max_bytes:
            raise refuse(len(parts))
        parts.append(part)
    return Response(b"[" + b",".join(parts) + b"]", media_type="application/json")


def document_response(
    encoded: str,
    *,
    max_bytes: int,
    refuse: Callable[[int], ResponseTooLarge],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """One JSON document, or `refuse(size)` when its `size` in bytes passes `max_bytes`."""
    body = encoded.encode()
    if len(body) > max_bytes:
        raise refuse(len(body))
    return Response(body, media_type="application/json", headers=headers)


def mib(size: int) -> str:
    """A byte count for messages: `16 MiB`, `3.4 MiB`."""
    return f"{size / 2**20:.3g} MiB"
