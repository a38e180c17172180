"""Uploaded datasets, addressed by content hash or by name."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session, defer

from app.storage.models import StoredDataset


class DatasetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, dataset: StoredDataset) -> StoredDataset:
        self.session.add(dataset)
        self.session.flush()
        return dataset

    def by_id(self, dataset_id: str) -> StoredDataset | None:
        statement = select(StoredDataset).where(StoredDataset.id == dataset_id)
        return self.session.scalars(statement.options(defer(StoredDataset.content, raiseload=True))).first()

    def find(self, id_or_name: str, *, with_content: bool = False) -> StoredDataset | None:
        """By id or by name; an id match wins, so no name can shadow another dataset's id."""
        statement = (
            select(StoredDataset)
            .where(or_(StoredDataset.id == id_or_name, StoredDataset.name == id_or_name))
            .order_by(case((StoredDataset.id == id_or_name, 0), else_=1))
        )
        if not with_content:
            statement = statement.options(defer(StoredDataset.content, raiseload=True))
        return self.session.scalars(statement).first()

    def all(self) -> Sequence[StoredDataset]:
        statement = (
            select(StoredDataset)
            .options(defer(StoredDataset.content, raiseload=True))
            .order_by(StoredDataset.created_at)
        )
        return self.session.scalars(statement).all()
