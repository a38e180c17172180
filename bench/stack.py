"""What the benchmarks that start the service share: a scratch database, and waiting for the API."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import sqlalchemy


@contextmanager
def scratch_database(backend: str, name: str, postgres_url: str) -> Iterator[str]:
    """A fresh, empty database (a PostgreSQL database `name`, or a temporary SQLite file), then dropped;
    yields its SQLAlchemy URL. `postgres_url` is a plain `postgresql://` URL of a database to connect to."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as directory:
            yield f"sqlite:///{directory}/{name}.db"
        return
    if not name.endswith("_bench"):
        raise ValueError(f"refusing to drop database {name!r}: scratch databases end in _bench")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sqlalchemy.make_url(postgres_url).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_healthy(base_url: str, timeout: float = 60) -> None:
    """Return once `GET /healthz` answers 200; exit the benchmark if it does not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not come up")
