"""Engines and sessions: one engine per URL and process, SQLite tuned for several writer processes."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from app.storage import json_text

SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_TIMEOUT_SECONDS = 5.0
"""How long a request waits for a free pooled connection before the API answers 503 + Retry-After
(SQLAlchemy's default is 30 s, long enough for a burst of requests to look like a frozen API)."""
READ_ONLY_OPTION = "caviar_read_only"
IDLE_PING_SECONDS = 30.0
"""A pooled PostgreSQL connection left unused this long is pinged before it is handed out (something
between here and the server may have dropped it without a word); one used more recently only when the
server has closed it (see `_replace_closed_connections`)."""
_CHECKED_IN_AT = "caviar_checked_in_at"


def _tune_sqlite(engine: Engine) -> None:
    # Every read-write transaction takes SQLite's write lock up front (BEGIN IMMEDIATE): several processes
    # then serialize their read-modify-write cycles (claims, ask-tell) instead of failing with
    # "database is locked" when a deferred reader tries to upgrade. WAL keeps readers cheap.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Read-only sessions begin deferred instead: in WAL mode they read a snapshot without taking the
    # write lock, so polls never queue behind the workers' writes.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _replace_closed_connections(engine: Engine) -> None:
    """What `pool_pre_ping` does, without its round trip on every checkout (one of the dozen of a worker's
    recording transaction): a pooled connection is handed out unpinged unless the server has sent
    something on it while it sat idle, which it only does to close it (restarted, or the backend ended:
    its last message, then end of file), or it sat idle for `IDLE_PING_SECONDS`. Those are pinged, and a
    dead one invalidates the pool (the others predate the same restart) and is replaced, as a failed
    pre-ping does. Looking costs a `poll()` of the socket, no round trip."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None:
            return  # connected just now (a reconnection clears `info`)
        idle = time.monotonic() - checked_in_at
        if idle < IDLE_PING_SECONDS and not _server_has_spoken(dbapi_connection):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise InvalidatePoolError(f"pooled connection found closed: {error}") from error
        if not alive:
            raise InvalidatePoolError("pooled connection found closed")


def _server_has_spoken(dbapi_connection: Any) -> bool:
    """Whether the socket of an idle connection has input waiting (or is gone): on an idle connection the
    server says nothing unless it closes it."""
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:
        return True  # closed already: the ping will tell
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(0))


def _tune_postgresql(engine: Engine) -> None:
    # Timestamps arrive in the session's time zone: in UTC they are already what `UTCDateTime` returns,
    # and its `astimezone(UTC)` costs nothing (from another zone, even Etc/UTC, about 1 µs a value: a
    # fifth of a 100-trial page's row loading). Committed, so that the pool's rollbacks keep it.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.commit()


def _create_parent_directory(database_url: str) -> None:
    database = make_url(database_url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class _Database:
    """One URL's engine and the session factories bound to it, cached together so they share a pool."""

    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]


@lru_cache(maxsize=8)
def _database(database_url: str) -> _Database:
    if database_url.startswith("sqlite"):
        _create_parent_directory(database_url)
        engine = create_engine(
            database_url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_timeout=POOL_TIMEOUT_SECONDS,
            json_deserializer=json_text.loads,
        )
        _tune_sqlite(engine)
    else:
        engine = create_engine(
            database_url,
            pool_size=5,
            max_overflow=10,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            json_deserializer=json_text.loads,
        )
        _replace_closed_connections(engine)
        _tune_postgresql(engine)
    # json_deserializer (both backends; psycopg is handed it): JSON columns decoded by orjson, exactly as
    # json.loads would (json_text.loads falls back to it): json.loads took a fifth of the CPU of a page of
    # 100 trials on PostgreSQL.
    # Reads only: SQLite begins them deferred, PostgreSQL as READ ONLY transactions (so a write slipped
    # into a read path fails loudly in the tests rather than contending in production).
    reader = engine.execution_options(**{READ_ONLY_OPTION: True, "postgresql_readonly": True})
    return _Database(
        engine=engine,
        sessions=sessionmaker(bind=engine, expire_on_commit=False),
        read_sessions=sessionmaker(bind=reader, expire_on_commit=False),
    )


def get_engine(database_url: str) -> Engine:
    """The process's engine for `database_url` (cached: engines own connection pools)."""
    return _database(database_url).engine


@contextmanager
def statements_sent(database_url: str) -> Iterator[list[str]]:
    """The SQL statements this process sends on `database_url`'s engine meanwhile, in order (SQLite's
    `BEGIN IMMEDIATE` included): on PostgreSQL each is a round trip, which tests and benchmarks count."""
    sent: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = get_engine(database_url)
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def get_session_factory(database_url: str) -> sessionmaker[Session]:
    return _database(database_url).sessions


def get_read_session_factory(database_url: str) -> sessionmaker[Session]:
    return _database(database_url).read_sessions


@contextmanager
def session_scope(database_url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = get_session_factory(database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_session_scope(database_url: str) -> Iterator[Session]:
    """A session that only reads (a snapshot per transaction on SQLite, per statement on PostgreSQL's
    READ COMMITTED). Closing it rolls the transaction back and leaves loaded objects readable."""
    session = get_read_session_factory(database_url)()
    try:
        yield session
    finally:
        session.close()
