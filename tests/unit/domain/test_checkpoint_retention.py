"""Which checkpoints a trial keeps: a bounded number spread over its run, the latest and pinned ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.checkpoint_retention import steps_to_thin


def kept_after_run(epochs: int, keep: int, pinned: frozenset[int] = frozenset()) -> list[int]:
    """The steps kept after a run that checkpointed every epoch and thinned after each."""
    kept: list[int] = []
    for step in range(1, epochs + 1):
        kept.append(step)
        dropped = steps_to_thin(kept, pinned, keep)
        kept = [step for step in kept if step not in dropped]
    return kept


def test_fewer_checkpoints_than_the_bound_are_all_kept() -> None:
    assert steps_to_thin([1, 2, 3], set(), 3) == []


def test_a_long_run_keeps_its_latest_and_the_others_spread_over_it() -> None:
    kept = kept_after_run(100, 10)

    assert len(kept) == 10 and kept[-1] == 100
    gaps = [later - earlier for earlier, later in zip([0, *kept], kept, strict=False)]
    assert max(gaps) <= 15  # evenly would be 10; never a long stretch without a checkpoint


def test_pinned_steps_stay_and_do_not_count_against_the_bound() -> None:
    kept = kept_after_run(50, 4, pinned=frozenset({3, 7}))

    assert {3, 7} <= set(kept)
    assert len([step for step in kept if step not in {3, 7}]) == 4


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="`keep` must be at least 1"):
        steps_to_thin([1], set(), 0)


@given(
    steps=st.sets(st.integers(1, 500), min_size=1, max_size=60),
    pinned=st.sets(st.integers(1, 500), max_size=10),
    keep=st.integers(1, 12),
)
def test_thinning_drops_only_unpinned_steps_older_than_the_latest_down_to_the_bound(
    steps: set[int], pinned: set[int], keep: int
) -> None:
    dropped = steps_to_thin(sorted(steps), pinned, keep)
    remaining = steps - set(dropped)

    assert set(dropped) <= steps - pinned - {max(steps)}
    assert len(remaining - pinned) == min(len(steps - pinned), keep)
