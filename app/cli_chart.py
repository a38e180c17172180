"""A learning curve as rows of text: a block-character area chart for `caviar watch`, no terminal needed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

EIGHTHS = " ▁▂▃▄▅▆▇█"
"""A cell filled to 0/8 … 8/8 of its height: eight levels per row."""
FULL = EIGHTHS[-1]


def render_curve(
    points: Sequence[tuple[int, float | None]],
    marks: Mapping[int, str] | None = None,
    *,
    width: int = 60,
    height: int = 8,
) -> list[str]:
    """The curve `(step, value)` as `height` chart rows, a row of `marks` (a character at each marked step)
    and a step axis row: `[labels│chart…, marks, axis]`, each at most `width` characters.

    Steps map to the columns right of the value labels (one per step while they fit; else several steps
    share one and the last one's value shows). None and NaN values leave their column empty. The value
    axis spans the drawn values' range; a constant curve is drawn at half height.
    """
    if width < 1 or height < 1:
        raise ValueError(f"`width` and `height` must be at least 1, got {width=}, {height=}")
    if not any(_is_finite(value) for _, value in points):
        return ["(no values to draw yet)"]
    first = min(step for step, _ in points)
    last = max(step for step, _ in points)
    span = last - first + 1
    gutter = _label_width(points)
    columns = max(1, min(span, width - gutter - 1))

    def column(step: int) -> int:
        return (step - first) * columns // span

    cells: list[float | None] = [None] * columns
    for step, value in sorted(points, key=lambda point: point[0]):
        cells[column(step)] = value if _is_finite(value) else None
    drawn = [cell for cell in cells if cell is not None]
    low, high = min(drawn), max(drawn)  # of what is drawn, so that the labels match the chart
    levels = height * 8
    filled = [None if cell is None else _level(cell, low, high, levels) for cell in cells]

    high_label, low_label = f"{high:.4g}", f"{low:.4g}"
    rows = []
    for row in range(height):
        floor = (height - 1 - row) * 8  # eighths below this row
        label = high_label if row == 0 else low_label if row == height - 1 else ""
        body = "".join(" " if level is None else _cell(level - floor) for level in filled)
        rows.append(f"{label:>{gutter}}│{body}")
    mark_row = [" "] * columns
    for step, mark in (marks or {}).items():
        if first <= step <= last:
            mark_row[column(step)] = mark
    rows.append((" " * gutter + " " + "".join(mark_row)).rstrip())
    axis = f"{first}" if span == 1 else f"{first}".ljust(max(columns - len(f"{last}"), len(f"{first}") + 1))
    rows.append(" " * gutter + " " + (axis if span == 1 else axis + f"{last}"))
    return rows


def _label_width(points: Sequence[tuple[int, float | None]]) -> int:
    """Room for the value labels: the widest a drawn value could print as (the labels are two of them)."""
    return max(len(f"{value:.4g}") for _, value in points if _is_finite(value))


def _is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _level(value: float, low: float, high: float, levels: int) -> int:
    """How many eighths of the chart's height `value` fills: 1 (the lowest value stays visible) … levels."""
    if high == low:
        return levels // 2
    return 1 + round((value - low) / (high - low) * (levels - 1))


def _cell(eighths: int) -> str:
    return FULL if eighths >= 8 else EIGHTHS[max(eighths, 0)]
