"""Pooled PostgreSQL connections are handed out without a ping of their own, and replaced, not handed
out, once the server has closed them (a restart): app/storage/db.py, `_replace_closed_connections`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.storage import db
from app.storage.db import get_engine, session_scope
from tests.e2e.private_postgres import PrivatePostgres, private_database_url, private_postgres

__all__ = ["private_database_url", "private_postgres"]  # the fixtures

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def count_pings(monkeypatch: pytest.MonkeyPatch, database_url: str) -> list[bool]:
    """One entry per ping of the engine's connections from now on: whether it found the connection alive."""
    dialect = get_engine(database_url).dialect
    ping: Callable[[Any], bool] = dialect.do_ping
    pings: list[bool] = []

    def counted(dbapi_connection: Any) -> bool:
        try:
            alive = ping(dbapi_connection)
        except Exception:
            pings.append(False)
            raise
        pings.append(alive)
        return alive

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


def one_transaction(database_url: str) -> None:
    with session_scope(database_url) as session:
        assert session.scalar(select(1)) == 1


@ON_POSTGRESQL
def test_a_pooled_connection_in_use_is_handed_out_without_a_ping(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_transaction(database_url)
    pings = count_pings(monkeypatch, database_url)
    for _ in range(3):
        one_transaction(database_url)
    assert pings == []


@ON_POSTGRESQL
def test_a_pooled_connection_left_idle_is_pinged_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_transaction(database_url)
    pings = count_pings(monkeypatch, database_url)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    one_transaction(database_url)
    assert pings == [True]


@pytest.mark.slow
def test_a_connection_the_restarted_server_closed_is_replaced_before_use(
    private_database_url: str, private_postgres: PrivatePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_transaction(private_database_url)  # leaves its connection in the pool
    pings = count_pings(monkeypatch, private_database_url)
    private_postgres.restart()
    one_transaction(private_database_url)  # no error: not handed the closed connection
    assert pings == [False]
    one_transaction(private_database_url)
    assert pings == [False]
