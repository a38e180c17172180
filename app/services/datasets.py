"""Uploaded datasets: validated once, stored by content hash, fetched by workers on any machine."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Literal

from sqlalchemy.orm import Session

from app.domain.catalog import BUILTIN_DATASETS
from app.domain.dataset_files import dataset_to_npz_bytes
from app.errors import InvalidSpec, NotFound
from app.services.dataset_parsing import parse_isolated
from app.storage.models import StoredDataset, utcnow
from app.storage.repositories import DatasetRepository
from caviar import InvalidParams

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
ID_PATTERN = re.compile(r"^[0-9a-fA-F]{64}$")
"""What a dataset id (a sha256 the server computes) looks like; no name may look like one."""


def upload_dataset(
    session: Session,
    *,
    name: str,
    content: bytes,
    fmt: Literal["npz", "csv"],
    label_column: str | None,
    max_bytes: int,
    max_cells: int,
) -> tuple[StoredDataset, bool]:
    """Validate and store a dataset; returns it and whether it was new (same content → same dataset).

    The id is the sha256 of the stored bytes, computed here: a client can neither choose it nor, by
    naming its own upload like another's id, make that upload resolve to its data.
    """
    if not NAME_PATTERN.match(name):
        raise InvalidSpec(
            "name", "use 1-200 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    if ID_PATTERN.match(name):
        raise InvalidSpec("name", "a name must not look like a dataset id (64 hexadecimal digits)")
    if name in BUILTIN_DATASETS:
        raise InvalidSpec("name", f"{name!r} is a built-in dataset; choose another name")
    try:
        dataset = parse_isolated(content, fmt, label_column, max_bytes, max_cells)
    except InvalidParams as error:
        raise InvalidSpec(error.name, error.message) from error
    stored_bytes = dataset_to_npz_bytes(dataset)
    digest = hashlib.sha256(stored_bytes).hexdigest()
    repository = DatasetRepository(session)
    existing = repository.by_id(digest)
    if existing is not None:
        return existing, False
    if repository.find(name) is not None:
        raise InvalidSpec("name", f"a different dataset is already named {name!r}")
    stored = StoredDataset(
        id=digest,
        name=name,
        n_rows=int(dataset.X.shape[0]),
        n_features=int(dataset.X.shape[1]),
        n_classes=dataset.n_classes,
        content=stored_bytes,
        created_at=utcnow(),
    )
    return repository.add(stored), True


def get_dataset(session: Session, id_or_name: str) -> StoredDataset:
    stored = DatasetRepository(session).find(id_or_name)
    if stored is None:
        raise NotFound(f"dataset {id_or_name!r} does not exist")
    return stored


def list_datasets(session: Session) -> Sequence[StoredDataset]:
    return DatasetRepository(session).all()
