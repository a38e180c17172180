"""Down-sampling of learning curves and the choice of which curves to draw."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.dashboard.downsample import spread_pick, stride_points


@given(count=st.integers(1, 500), max_points=st.integers(2, 100))
def test_strided_curve_stays_within_bound_and_keeps_first_and_last_points(
    count: int, max_points: int
) -> None:
    steps = list(range(1, count + 1))
    values = [float(step) for step in steps]
    kept_steps, kept_values = stride_points(steps, values, max_points)
    assert len(kept_steps) <= max_points
    assert kept_steps[0] == 1 and kept_steps[-1] == count
    assert kept_steps == sorted(set(kept_steps))
    assert kept_values == [float(step) for step in kept_steps]


def test_short_curve_is_returned_whole() -> None:
    assert stride_points([1, 2, 3], [0.1, None, 0.3], 5) == ([1, 2, 3], [0.1, None, 0.3])


def test_stride_refuses_fewer_than_two_points() -> None:
    with pytest.raises(ValueError, match="max_points >= 2"):
        stride_points([1, 2, 3], [1.0, 2.0, 3.0], 1)


@given(count=st.integers(0, 3000), limit=st.integers(1, 200), always=st.integers(0, 3000))
def test_spread_pick_is_bounded_ordered_and_keeps_the_item_always_wanted(
    count: int, limit: int, always: int
) -> None:
    candidates = list(range(0, 2 * count, 2))
    picked = spread_pick(candidates, limit, always=[2 * always])
    assert len(picked) <= max(limit, 1)
    assert picked == sorted(set(picked)) and set(picked) <= set(candidates)
    if 2 * always in candidates:
        assert 2 * always in picked
    if count <= limit:
        assert picked == candidates
