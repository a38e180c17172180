"""Which of a trial's checkpoints to keep: a bounded number, spread over its run, never a pinned one."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def steps_to_thin(steps: Sequence[int], pinned: Collection[int], keep: int) -> list[int]:
    """The steps to delete so that at most `keep` unpinned checkpoints remain (`keep` >= 1).

    The latest step and the `pinned` ones (a branch was taken from them) always stay. Otherwise the
    checkpoint dropped is the one whose removal leaves the shortest gap between its neighbours (the
    earlier one on a tie), so the kept steps stay spread over the whole run, as a branch may be wanted
    from anywhere: checkpoints every epoch of a 100-epoch run with keep=10 end at about every 10th epoch.
    """
    if keep < 1:
        raise ValueError(f"`keep` must be at least 1, got {keep=}")
    kept = sorted(set(steps))
    dropped: list[int] = []
    while sum(1 for step in kept if step not in pinned) > keep:
        candidates = [i for i in range(len(kept) - 1) if kept[i] not in pinned]
        # Gap left by removing kept[i]: from its predecessor (or step 0) to its successor.
        index = min(candidates, key=lambda i: (kept[i + 1] - (kept[i - 1] if i else 0), kept[i]))
        dropped.append(kept.pop(index))
    return sorted(dropped)
