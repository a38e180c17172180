"""What people type to nudge a trial (`caviar nudge`, `caviar watch`'s prompt) becomes the PATCH body."""

from __future__ import annotations

import pytest

from app.cli_controls import BadControl, parse_controls


@pytest.mark.parametrize(
    ("line", "changes"),
    [
        ("lr 0.003", {"learning_rate": 0.003}),
        ("learning_rate=0.003", {"learning_rate": 0.003}),
        ("alpha 1e-4", {"learning_rate": 0.0001}),
        ("lr=0.01 l2 0.5 keep_prob=[0.9,0.8]", {"learning_rate": 0.01, "l2": 0.5, "keep_prob": [0.9, 0.8]}),
        ("beta2 0.999", {"beta2": 0.999}),
    ],
)
def test_a_typed_line_becomes_the_controls_to_send(line: str, changes: dict[str, object]) -> None:
    assert parse_controls(line.split()) == changes


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "no control given"),
        ("lr", "'lr' has no value"),
        ("=0.003", "has no name"),
        ("lr fast", "'fast' is not a value"),
        ("lr=0.1 l2", "'l2' has no value"),
    ],
)
def test_a_line_that_cannot_be_read_says_what_to_write(line: str, message: str) -> None:
    with pytest.raises(BadControl, match=message) as raised:
        parse_controls(line.split())
    assert "e.g." in str(raised.value)
