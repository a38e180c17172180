"""`caviar watch`'s chart: a curve as text rows within a width, marks under their steps, degenerate curves."""

from __future__ import annotations

import math

import pytest

from app.cli_chart import render_curve

RISING = [(1, 0.0), (2, 1.0), (3, 2.0), (4, 3.0), (5, 4.0)]


def test_a_rising_curve_fills_each_column_to_its_value_in_eighths_of_a_row() -> None:
    assert render_curve(RISING, width=7, height=2) == [
        "4│  ▁▄█",
        "0│▁▅███",
        "",
        "  1   5",
    ]


def test_a_mark_sits_under_its_step_column() -> None:
    rows = render_curve(RISING, {3: "▲", 5: "↺"}, width=7, height=2)
    assert rows[2] == "    ▲ ↺"
    assert rows[2].index("▲") == rows[0].index("▁")  # step 3 is the column where the top row starts


def test_a_mark_outside_the_curve_is_left_out() -> None:
    assert render_curve(RISING, {9: "▲"}, width=7, height=2)[2] == ""


def test_more_steps_than_columns_share_columns_and_marks_stay_on_their_step() -> None:
    curve = [(step, float(step)) for step in range(1, 101)]
    rows = render_curve(curve, {51: "▲"}, width=14, height=3)  # 3 for the labels, 1 for │, 10 columns
    chart = [row.split("│")[1] for row in rows[:3]]
    assert all(len(row) == 10 for row in chart)
    assert rows[3].index("▲") - rows[0].index("│") - 1 == 5  # steps 51-60 share column 5 of 0..9
    assert rows[4].split() == ["1", "100"]
    assert max(len(row) for row in rows) == 14


def test_one_point_is_drawn_at_half_height() -> None:
    assert render_curve([(7, 0.5)], {7: "▲"}, width=20, height=2) == [
        "0.5│ ",
        "0.5│█",
        "    ▲",
        "    7",
    ]


def test_a_constant_curve_is_a_flat_line_at_half_height() -> None:
    rows = render_curve([(1, 2.0), (2, 2.0), (3, 2.0)], width=10, height=4)
    assert [row.split("│")[1] for row in rows[:4]] == ["   ", "   ", "███", "███"]


@pytest.mark.parametrize("missing", [None, math.nan, math.inf])
def test_a_missing_value_leaves_its_column_empty(missing: float | None) -> None:
    rows = render_curve([(1, 1.0), (2, missing), (3, 3.0)], width=10, height=2)
    assert [row.split("│")[1] for row in rows[:2]] == ["  █", "▁ █"]


def test_a_curve_without_values_says_so() -> None:
    assert render_curve([]) == ["(no values to draw yet)"]
    assert render_curve([(1, None), (2, math.nan)]) == ["(no values to draw yet)"]


def test_a_chart_needs_room() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        render_curve(RISING, width=0)
