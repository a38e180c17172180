"""What the benchmarks that start the service share: a scratch database, and waiting for the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


@contextmanager
def embedded_stack(name: str, workers: int, database_url: str | None = None) -> Iterator[str]:
    """`caviar up` on `database_url` (default: a temporary SQLite file) and the embedded Redis with
    `workers` workers, quiet (WARNING logs), on a queue of its own; yields the API's base URL once it
    answers, stops the stack after."""
    from app.embedded_redis import free_loopback_port

    with tempfile.TemporaryDirectory(prefix=f"caviar-{name}-") as directory:
        port = free_loopback_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url or f"sqlite:///{directory}/caviar.db",
            "CAVIAR_LOG_LEVEL": "WARNING",
            "CAVIAR_QUEUE_NAME": f"caviar-{name}-{port}",
        }
        for variable in ("REDIS_URL", "CAVIAR_REDIS_URL", "CAVIAR_DATABASE_URL"):
            env.pop(variable, None)
        command = [sys.executable, "-m", "app.cli", "up", "--port", str(port), "--workers", str(workers)]
        stack = subprocess.Popen(
            command, env=env, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(base_url)
            yield base_url
        finally:
            stack.send_signal(signal.SIGINT)
            stack.wait(timeout=60)
