"""The append-only event log of searches.

A transaction's events are kept on its session and written together, in one INSERT, as it commits
(`write_pending`, called by the commit hook in app/storage/search_stats.py), not with whatever flush
comes first: a worker's recording transaction would otherwise send its outcomes' events and its claims'
events in two statements. So they are not visible to the reads of the transaction that adds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Insert, String, Text, func, insert, select
from sqlalchemy.orm import Session

from app.storage.array_rows import array_parameters, insert_rows
from app.storage.models import Event, UTCDateTime, utcnow

_PENDING = "caviar_pending_events"


def write_pending(session: Session) -> None:
    """Insert the events the session's transaction added, in the order added, in one statement."""
    rows: list[dict[str, Any]] | None = session.info.pop(_PENDING, None)
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        # The table, not the mapped class: a plain executemany, without the ORM's bulk-insert bookkeeping.
        session.execute(insert(_EVENTS), rows)
        return
    now = utcnow()
    values = [{**row, "created_at": now} for row in rows]
    parameters = array_parameters("event", _ARRAYS, values, json_columns=("payload",))
    session.execute(_insert_statement(), parameters)


_EVENTS = Event.metadata.tables["events"]
_ARRAYS: tuple[tuple[str, Any], ...] = (
    ("search_id", BigInteger()),
    ("kind", String()),
    ("trial_id", BigInteger()),
    ("payload", Text()),  # JSON text, cast in the statement
    ("created_at", UTCDateTime()),
)


@lru_cache(maxsize=1)
def _insert_statement() -> Insert:
    """PostgreSQL: INSERT INTO events (...) SELECT ... FROM unnest(:event_search_id, ...) WITH ORDINALITY
    ORDER BY ordinality: one statement of the same text for any number of events (compiled once, prepared
    once; an executemany is a statement per event on the server), ids given in the order added."""
    return insert_rows(_EVENTS, "event", _ARRAYS, json_columns=("payload",))


def discard_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, search_id: int, kind: str, *, trial_id: int | None = None, **payload: Any) -> None:
        """Log an event, written when the transaction commits (see the module's docstring)."""
        if self.session.in_nested_transaction():
            # Flushed with the savepoint, so that rolling it back drops the event too.
            self.session.add(Event(search_id=search_id, kind=kind, trial_id=trial_id, payload=payload))
            return
        pending: list[dict[str, Any]] = self.session.info.setdefault(_PENDING, [])
        pending.append({"search_id": search_id, "kind": kind, "trial_id": trial_id, "payload": payload})

    def resumes_of(self, trial_id: int) -> list[tuple[datetime, dict[str, Any]]]:
        """(when, payload) of the trial's `trial_resumed` events, oldest first (a partial index's read)."""
        statement = (
            select(Event.created_at, Event.payload)
            .where(Event.trial_id == trial_id, Event.kind == "trial_resumed")
            .order_by(Event.id)
        )
        return [(created_at, dict(payload)) for created_at, payload in self.session.execute(statement)]

    def after(self, search_id: int, after_id: int, limit: int = 500) -> Sequence[Event]:
        statement = (
            select(Event)
            .where(Event.search_id == search_id, Event.id > after_id)
            .order_by(Event.id)
            .limit(limit)
        )
        return self.session.scalars(statement).all()

    def count_between(self, low_id: int, high_id: int) -> int:
        """Visible events of any search with `low_id < id <= high_id` (fewer than the span: a gap)."""
        statement = select(func.count()).where(Event.id > low_id, Event.id <= high_id)
        return int(self.session.scalar(statement) or 0)

    def stamps_between(self, low_id: int, high_id: int, limit: int = 5000) -> list[tuple[int, datetime]]:
        """(id, created_at) of visible events of any search with `low_id < id <= high_id`, in id order."""
        statement = (
            select(Event.id, Event.created_at)
            .where(Event.id > low_id, Event.id <= high_id)
            .order_by(Event.id)
            .limit(limit)
        )
        return [(event_id, created_at) for event_id, created_at in self.session.execute(statement)]
