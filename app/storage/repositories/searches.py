"""Queries over searches."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.models import Search, SearchStats
from app.storage.repositories.trials import branch_count_of
from app.storage.search_stats import remember_counters


class SearchRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, search: Search) -> Search:
        self.session.add(search)
        self.session.flush()
        return search

    def get(self, search_id: int) -> Search | None:
        return self.session.get(Search, search_id)

    def get_for_update(self, search_id: int, *, read_counters: bool = False) -> Search | None:
        """The search row, locked until the transaction ends (serializes ask-tell on PostgreSQL).

        `FOR NO KEY UPDATE`, not `FOR UPDATE`: the foreign-key checks of rows that name the search (an epoch
        report's event, written while its run holds the trial row) take `FOR KEY SHARE`, which `FOR UPDATE`
        would block, so a cancel or pause (search row, then trial row) and a report (trial row, then the
        event) would deadlock.

        With `read_counters`, the same statement reads the search's counters row (not locked) and branch
        count, as this transaction's read of them (app/storage/search_stats.py): a transaction that will
        ask the strategy for more trials saves the round trip of reading them then."""
        if not read_counters:
            statement = select(Search).where(Search.id == search_id).with_for_update(key_share=True)
            return self.session.scalars(statement.execution_options(populate_existing=True)).one_or_none()
        joined = (
            select(Search, SearchStats, branch_count_of(search_id).scalar_subquery())
            .outerjoin(SearchStats, SearchStats.search_id == Search.id)
            .where(Search.id == search_id)
            .with_for_update(key_share=True, of=Search)
        )
        row = self.session.execute(joined.execution_options(populate_existing=True)).one_or_none()
        if row is None:
            return None
        search: Search = row[0]
        stats: SearchStats | None = row[1]
        if stats is not None:
            remember_counters(self.session, stats, int(row[2]))
        return search

    def by_idempotency_key(self, key: str) -> Search | None:
        return self.session.scalars(select(Search).where(Search.idempotency_key == key)).one_or_none()

    def children(self, search_id: int) -> Sequence[Search]:
        """Searches derived from this one (re-tests), oldest first."""
        statement = select(Search).where(Search.parent_search_id == search_id).order_by(Search.id)
        return self.session.scalars(statement).all()
