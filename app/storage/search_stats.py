"""Per-search counters maintained on write: every transaction that inserts a trial or moves one between
states adds its changes to the search's `search_stats` row before it commits.

Changes are collected on the session while the transaction runs (inserts from the flush, or from
`TrialRepository.add_queued`, which inserts rows without the ORM; transitions from `TrialRepository`,
which knows each one's source state) and written last, in `before_commit`,
search by search in id order: one UPDATE conditional on the version the transaction read (its budget
arithmetic did), or, if it read none or another writer came between, a locked read and an UPDATE. So
the lock order stays search row, then trial rows, then stats rows, and two transactions never wait on
each other's stats rows in a cycle. A rollback discards them. The transaction's events
(app/storage/repositories/events.py) go out in the same hook, in one INSERT just before the counters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from app.domain.trial_state import TERMINAL_STATES
from app.storage.models import Trial
from app.storage.repositories.events import discard_pending as discard_pending_events
from app.storage.repositories.events import write_pending as write_pending_events
from app.storage.repositories.search_stats import PendingStats, SearchStatsRepository, forget_reads

_PENDING = "caviar_pending_search_stats"


def pending(session: Session) -> dict[int, PendingStats]:
    changes: dict[int, PendingStats] = session.info.setdefault(_PENDING, {})
    return changes


def record_transition(
    session: Session,
    search_id: int,
    source: str,
    target: str,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> None:
    """A trial of `search_id` moved from `source` to `target` (times as the row holds them after)."""
    changes = pending(session).setdefault(search_id, PendingStats())
    changes.counts[source] -= 1
    changes.counts[target] += 1
    _record_duration(changes, target, started_at, finished_at)


def record_checkpoint(session: Session, search_id: int) -> None:
    """A trial of `search_id` stored a checkpoint: its row is marked at commit (`search_stats.checkpointed`,
    with its other changes or, if none, without a new version), last like them."""
    pending(session).setdefault(search_id, PendingStats()).checkpointed = True


def record_insert(
    session: Session,
    search_id: int,
    state: str,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> None:
    """A trial of `search_id` was inserted in `state` (times as its row holds them)."""
    changes = pending(session).setdefault(search_id, PendingStats())
    changes.counts[state] += 1
    _record_duration(changes, state, started_at, finished_at)


def _record_duration(
    changes: PendingStats, state: str, started_at: datetime | None, finished_at: datetime | None
) -> None:
    if state in TERMINAL_STATES and started_at is not None and finished_at is not None:
        changes.durations.append((state, (finished_at - started_at).total_seconds()))


@event.listens_for(Session, "before_flush")
def _track_inserted_trials(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for instance in session.new:
        if isinstance(instance, Trial):
            record_insert(
                session, instance.search_id, instance.state, instance.started_at, instance.finished_at
            )


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction writes them, last
    session.flush()
    # The transaction's events in one INSERT, before the counters, whose rows stay the last locked.
    write_pending_events(session)
    changes = session.info.pop(_PENDING, None)
    if changes:
        SearchStatsRepository(session).apply(changes)


@event.listens_for(Session, "after_transaction_end")
def _discard_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        discard_pending_events(session)
        forget_reads(session)
