"""app.storage.json_text.loads gives what json.loads gives, including where orjson alone would not."""

from __future__ import annotations

import json

import pytest

from app.storage.json_text import loads

TEXTS = [
    '{"x0": 0.1, "x1": 1e-300, "x2": 5e-324, "n": -0, "z": -0.0, "s": "a,\\"b\\"\\n\\u00e9"}',
    "[18446744073709551616, -9223372036854775809, 9223372036854775807, 18446744073709551615]",
    '{"big": 1180591620717411303424, "in_text": "12345678901234567890"}',
    "0.1000000000000000055511151231257827",
    '{"loss": NaN, "up": Infinity, "down": -Infinity}',
    "1e400",
    '"\\ud800"',
    '{"a": 1, "a": 2}',
    "null",
    ' {"nested" : {"b": [1, 2.5, null, true]}} ',
]


@pytest.mark.parametrize("text", TEXTS)
def test_loads_equals_json_loads(text: str) -> None:
    assert repr(loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", TEXTS)
def test_loads_of_utf8_bytes_equals_json_loads(text: str) -> None:
    """psycopg hands the JSON loader bytes."""
    assert repr(loads(text.encode())) == repr(json.loads(text.encode()))


def test_loads_of_bytes_that_are_not_utf8_equals_json_loads() -> None:
    text = '{"s": "\u00e9t\u00e9"}'
    assert loads(text.encode("utf-16")) == json.loads(text.encode("utf-16"))


def test_loads_keeps_none() -> None:
    assert loads(None) is None
