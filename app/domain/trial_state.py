"""The trial state machine, enforced in one place.

queued → running → completed | failed | pruned | cancelled; running → queued when a lease expires or a
worker hands a trial back on shutdown; queued → cancelled | failed (a trial that ran out of attempts).
queued | running → paused (a user's pause: a running one after its worker checkpointed it) → queued (resume)
or cancelled (its search ends). A paused trial holds its place in the search's `max_parallel`: it is active,
never finished.
"""

from __future__ import annotations

from enum import StrEnum


class TrialState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    PRUNED = "pruned"
    CANCELLED = "cancelled"


STATE_ORDER: tuple[TrialState, ...] = tuple(TrialState)
"""Queued, running, paused, then the final states: the order in which a trial can pass through them."""

ACTIVE_STATES: frozenset[TrialState] = frozenset({TrialState.QUEUED, TrialState.RUNNING, TrialState.PAUSED})
"""Not finished: the search waits for them and counts them against `max_parallel`."""
TERMINAL_STATES: frozenset[TrialState] = frozenset(
    {TrialState.COMPLETED, TrialState.FAILED, TrialState.PRUNED, TrialState.CANCELLED}
)

_ALLOWED: dict[TrialState, frozenset[TrialState]] = {
    TrialState.QUEUED: frozenset(
        {TrialState.RUNNING, TrialState.PAUSED, TrialState.CANCELLED, TrialState.FAILED}
    ),
    TrialState.RUNNING: frozenset(
        {
            TrialState.COMPLETED,
            TrialState.FAILED,
            TrialState.PRUNED,
            TrialState.CANCELLED,
            TrialState.QUEUED,
            TrialState.PAUSED,
        }
    ),
    TrialState.PAUSED: frozenset({TrialState.QUEUED, TrialState.CANCELLED}),
}


def sources_of(target: TrialState) -> frozenset[TrialState]:
    """The states from which `target` may be entered (used as the WHERE of conditional UPDATEs)."""
    return frozenset(source for source, targets in _ALLOWED.items() if target in targets)


def can_transition(source: TrialState, target: TrialState) -> bool:
    return target in _ALLOWED.get(source, frozenset())


class SearchState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"  # too many failed trials, or none completed
