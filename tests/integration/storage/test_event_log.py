"""The event log: a transaction's events are written as it commits, in the order added, and those of a
savepoint that rolled back are not."""

from __future__ import annotations

from contextlib import suppress

from sqlalchemy import select

from app.storage.db import session_scope, statements_sent
from app.storage.models import Event
from app.storage.repositories import EventRepository
from tests.integration.storage.factories import add_search_with_trials


class Undone(Exception):
    pass


def test_a_transactions_events_are_written_as_it_commits_in_the_order_added(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, _ = add_search_with_trials(session, n_trials=0)
        search_id = search.id
    logged = select(Event.kind).where(Event.search_id == search_id).order_by(Event.id)

    with statements_sent(database_url) as sent, session_scope(database_url) as session:
        events = EventRepository(session)
        events.add(search_id, "first")
        with suppress(Undone), session.begin_nested():
            events.add(search_id, "undone")
            raise Undone
        events.add(search_id, "second", step=2)
        assert session.scalars(logged).all() == []  # not written before the commit

    with session_scope(database_url) as session:
        assert session.scalars(logged).all() == ["first", "second"]
    inserts = [statement for statement in sent if statement.startswith("INSERT INTO events")]
    assert len(inserts) == 1, inserts


def test_a_transactions_many_events_keep_their_order_trials_and_payloads(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, trials = add_search_with_trials(session, n_trials=3)
        search_id, trial_ids = search.id, [trial.id for trial in trials]
    added = [
        (f"kind-{index}", trial_ids[index % 3] if index % 4 else None, {"step": index, "note": None})
        for index in range(40)
    ]
    with session_scope(database_url) as session:
        events = EventRepository(session)
        for kind, trial_id, payload in added:
            events.add(search_id, kind, trial_id=trial_id, **payload)
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Event.kind, Event.trial_id, Event.payload)
            .where(Event.search_id == search_id)
            .order_by(Event.id)
        ).all()
    assert [tuple(row) for row in rows] == added
