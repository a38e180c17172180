"""JSON text to Python values, as `json.loads` would give them, with orjson doing the common case."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(r"[0-9]{19}")
"""orjson turns an integer beyond 64 bits into a float, silently; `json.loads` keeps it an int. Numbers
the service writes (`json.dumps`) never have 19 digits in a row unless they are such integers."""


def loads(text: str | None) -> Any:
    """The value of `text` (None stays None), equal to `json.loads(text)`: orjson where it is exact,
    `json.loads` for what orjson refuses (NaN, Infinity, 1e400, lone surrogates) or would round."""
    if text is None:
        return None
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
