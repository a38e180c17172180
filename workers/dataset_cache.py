"""Datasets for trials: built-in ones from installed packages, uploaded ones fetched once and cached."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.domain.catalog import BUILTIN_DATASETS
from app.domain.dataset_files import dataset_from_npz_bytes
from app.storage.db import session_scope
from app.storage.repositories import DatasetRepository
from caviar import Dataset
from workers.datasets.builtin import load_builtin

log = logging.getLogger(__name__)


class DatasetCache:
    """Loads datasets by name; uploaded ones are kept on local disk by content hash."""

    def __init__(self, database_url: str, cache_dir: Path) -> None:
        self.database_url = database_url
        self.cache_dir = cache_dir

    def load(self, name: str, options: Mapping[str, Any]) -> Dataset:
        if name in BUILTIN_DATASETS:
            return load_builtin(name, options)
        return self._load_uploaded(name)

    def _load_uploaded(self, dataset_id: str) -> Dataset:
        path = self.cache_dir / f"{dataset_id}.npz"
        if path.exists():
            return dataset_from_npz_bytes(path.read_bytes(), name=dataset_id)
        with session_scope(self.database_url) as session:
            stored = DatasetRepository(session).find(dataset_id, with_content=True)
            if stored is None:
                raise LookupError(f"dataset {dataset_id!r} is neither built in nor uploaded")
            content = stored.content
        self._write_atomically(path, content)
        log.info("dataset %s fetched from the database and cached at %s", dataset_id, path)
        return dataset_from_npz_bytes(content, name=dataset_id)

    def _write_atomically(self, path: Path, content: bytes) -> None:
        # Several worker processes on one machine may fetch the same dataset at once.
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(content)
        os.replace(handle.name, path)
