"""Read sessions: on SQLite they don't wait for a writer's lock; on PostgreSQL they can't write."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.storage.db import get_engine, read_session_scope, session_scope
from app.storage.models import Search


def test_a_read_session_reads_while_a_writer_holds_the_lock(database_url: str) -> None:
    with session_scope(database_url) as writer:
        writer.execute(text("UPDATE searches SET name = name"))  # takes the write lock on either database
        with read_session_scope(database_url) as reader:
            assert reader.query(Search).count() == 0  # would wait out the 30 s busy timeout if it locked


def test_a_write_in_a_read_session_fails_on_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no read-only transactions; its read sessions just take no lock")
    with pytest.raises(DBAPIError, match="read-only transaction"), read_session_scope(database_url) as reader:
        reader.execute(text("UPDATE searches SET name = name"))


def test_the_connection_a_read_session_used_is_writable_again_once_returned(database_url: str) -> None:
    engine = get_engine(database_url)
    engine.dispose()  # an empty pool: the reader's connection is then the only one to come back
    with read_session_scope(database_url) as reader:
        used = reader.connection().connection.dbapi_connection
    with engine.connect() as again:
        assert again.connection.dbapi_connection is used, "the pool did not hand back the reader's connection"
        if database_url.startswith("postgresql"):
            assert again.exec_driver_sql("SHOW transaction_read_only").scalar() == "off"
        again.exec_driver_sql("UPDATE searches SET name = name")
        again.rollback()
