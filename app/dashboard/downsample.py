"""Pure down-sampling of learning curves, so a 10,000-trial search's curves fit in one bounded response."""

from __future__ import annotations

from collections.abc import Sequence


def stride_points(
    steps: Sequence[int], values: Sequence[float | None], max_points: int
) -> tuple[list[int], list[float | None]]:
    """At most `max_points` (>= 2) evenly strided points of one curve, always keeping the first and last.

    The last point matters most: it is where a pruned trial was stopped, or a completed one ended.
    """
    if max_points < 2:
        raise ValueError(f"`max_points >= 2` must hold, got {max_points=}")
    count = len(steps)
    if count <= max_points:
        return list(steps), list(values)
    stride = -(-(count - 1) // (max_points - 1))  # ceil: the strided points plus the last stay within bound
    kept = list(range(0, count - 1, stride)) + [count - 1]
    return [steps[i] for i in kept], [values[i] for i in kept]


def spread_pick(candidates: Sequence[int], limit: int, always: Sequence[int] = ()) -> list[int]:
    """`limit` items of `candidates` spread evenly over their order, plus every item of `always` that is
    among them; in the candidates' order. Used to choose which trials' curves to draw."""
    if limit < 1:
        raise ValueError(f"`limit >= 1` must hold, got {limit=}")
    if len(candidates) <= limit:
        return list(candidates)
    members = set(candidates)
    wanted = {c for c in always if c in members}
    room = max(limit - len(wanted), 0)
    if room:
        step = len(candidates) / room
        wanted.update(candidates[int(i * step)] for i in range(room))
    return [c for c in candidates if c in wanted]
