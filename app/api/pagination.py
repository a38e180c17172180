"""Opaque keyset cursors: the client passes back what the previous page returned."""

from __future__ import annotations

import base64
import json
from typing import Any

from app.errors import InvalidSpec


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidSpec("cursor", "not a cursor this API returned") from error
