"""Queries over searches."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.models import Search


class SearchRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, search: Search) -> Search:
        self.session.add(search)
        self.session.flush()
        return search

    def get(self, search_id: int) -> Search | None:
        return self.session.get(Search, search_id)

    def get_for_update(self, search_id: int) -> Search | None:
        """The search row, locked until the transaction ends (serializes ask-tell on PostgreSQL).

        `FOR NO KEY UPDATE`, not `FOR UPDATE`: the foreign-key checks of rows that name the search (an epoch
        report's event, written while its run holds the trial row) take `FOR KEY SHARE`, which `FOR UPDATE`
        would block, so a cancel or pause (search row, then trial row) and a report (trial row, then the
        event) would deadlock."""
        statement = select(Search).where(Search.id == search_id).with_for_update(key_share=True)
        return self.session.scalars(statement.execution_options(populate_existing=True)).one_or_none()

    def by_idempotency_key(self, key: str) -> Search | None:
        return self.session.scalars(select(Search).where(Search.idempotency_key == key)).one_or_none()

    def children(self, search_id: int) -> Sequence[Search]:
        """Searches derived from this one (re-tests), oldest first."""
        statement = select(Search).where(Search.parent_search_id == search_id).order_by(Search.id)
        return self.session.scalars(statement).all()
