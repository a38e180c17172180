"""JSON text to Python values, as `json.loads` would give them, with orjson doing the common case."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(r"[0-9]{19}")
"""orjson turns an integer beyond 64 bits into a float, silently; `json.loads` keeps it an int. Numbers
the service writes (`json.dumps`) never have 19 digits in a row unless they are such integers."""
_LONG_NUMBER_BYTES = re.compile(rb"[0-9]{19}")


def loads(text: str | bytes | None) -> Any:
    """The value of `text` (None stays None), equal to `json.loads(text)`: orjson where it is exact,
    `json.loads` for what orjson refuses (NaN, Infinity, 1e400, lone surrogates, bytes that are not
    UTF-8) or would round. Bytes are what psycopg hands its JSON loader."""
    if text is None:
        return None
    if isinstance(text, bytes):
        has_long_number = _LONG_NUMBER_BYTES.search(text) is not None
    else:
        has_long_number = _LONG_NUMBER.search(text) is not None
    if not has_long_number:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
