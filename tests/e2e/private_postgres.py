"""A PostgreSQL cluster of the test's own, which the test may restart: the machine's server is shared
with the tests running beside it, so it must never be restarted.

Built from the server binaries Debian installs under /usr/lib/postgresql/<version>/bin (or found on
PATH). initdb refuses to run as root, so under root the cluster belongs to the `postgres` user and lives
in a temporary directory owned by it. Trust authentication, 127.0.0.1 on a free port, no fsync (a
restart is not a power cut: the kernel keeps what was written). Without the binaries the tests using
it skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import psycopg
import pytest

from app.embedded_redis import free_loopback_port
from app.storage.db import get_engine
from app.storage.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"
SERVER_USER = "postgres"
"""Who runs the cluster when the tests run as root."""


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin, else PATH's."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda initdb: int(initdb.parts[-3]) if initdb.parts[-3].isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path and shutil.which("pg_ctl") else None


class PostgresCommandFailed(RuntimeError):
    pass


class PrivatePostgres:
    """One cluster in `directory`, listening on 127.0.0.1:`port`."""

    def __init__(self, binaries: Path, directory: Path, port: int) -> None:
        self.binaries, self.directory, self.port = binaries, directory, port
        self.data = directory / "data"
        self.log = directory / "server.log"
        self._databases = count(1)
        self._restarting: threading.Thread | None = None
        self._restart_failure: PostgresCommandFailed | None = None

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.binaries / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            failed = f"{tool} {' '.join(args)} exited with {done.returncode}"
            raise PostgresCommandFailed(f"{failed}: {done.stderr}")

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.directory}'",
            # No fsync: a restart is not a power cut, the kernel keeps what was written. But commits
            # stay synchronous: with synchronous_commit=off an immediate shutdown loses transactions the
            # clients saw committed, a fault no production server has.
            "fsync": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log))

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))

    def restart(self, down_seconds: float = 0.0) -> None:
        """Crash-like restart: `-m immediate` drops every connection mid-statement without a checkpoint,
        and the server runs crash recovery when it starts `down_seconds` later, which is what an OOM kill
        or a failover does to the clients. (`-m fast` would be gentler: backends end their transactions
        with an admin-shutdown error and the server checkpoints first.)"""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def restart_in_background(self, down_seconds: float) -> bool:
        """`restart(down_seconds)` in a thread, so the test goes on (and strikes again) while the server
        is down; False, doing nothing, while an earlier one is still under way."""
        if self._restarting is not None and self._restarting.is_alive():
            return False
        self._restarting = threading.Thread(target=self._restart_noting_failure, args=(down_seconds,))
        self._restarting.start()
        return True

    def _restart_noting_failure(self, down_seconds: float) -> None:
        try:
            self.restart(down_seconds)
        except PostgresCommandFailed as error:
            self._restart_failure = error

    def wait_restarted(self) -> None:
        """Wait for a restart started in the background; its failure, if it failed, raised here."""
        if self._restarting is not None:
            self._restarting.join()
        if self._restart_failure is not None:
            raise self._restart_failure

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, migrated database; its SQLAlchemy URL."""
        name = f"caviar_{next(self._databases)}"
        admin_conninfo = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin_conninfo, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = self.url(name)
        upgrade(url)
        return url

    def remove(self) -> None:
        """Stop the server (if it runs) and delete its files."""
        if self._restarting is not None:
            self._restarting.join()
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except PostgresCommandFailed:
                pass  # not running after all: the files go anyway
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private cluster, stopped and deleted at the end, whatever the tests did to it."""
    binaries = server_binaries()
    if binaries is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql or PATH"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PostgreSQL restart tests must run)")
        pytest.skip(message)
    directory = Path(tempfile.mkdtemp(prefix="caviar-private-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, user=SERVER_USER, group=SERVER_USER)
    cluster = PrivatePostgres(binaries, directory, free_loopback_port())
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def private_database_url(private_postgres: PrivatePostgres) -> Iterator[str]:
    """A new migrated database on the private cluster, for one test."""
    url = private_postgres.new_database()
    yield url
    get_engine(url).dispose()
