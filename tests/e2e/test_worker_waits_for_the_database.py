"""A worker started before its database is ready (not migrated yet) waits for it, with one log line,
instead of exiting; once `caviar db upgrade` has run it registers and works."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.migrate import upgrade
from app.storage.models import Worker
from tests.e2e.conftest import process_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),  # a fresh file of its own below
]


def start_worker(
    settings: Settings, tmp_path: Path, database_url: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """A `caviar worker` on `database_url`, logging one line per record to the returned file."""
    env = process_env(settings, tmp_path, DATABASE_URL=database_url, COLUMNS="300")
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], env=env, stdout=log, stderr=log
        )
    return worker, log_path


def wait_for_line(worker: subprocess.Popen[bytes], log_path: Path, text: str, deadline: float) -> None:
    """Until the worker has logged `text` (failing with its log if it exits or `deadline` passes)."""
    while text not in log_path.read_text():
        assert time.monotonic() < deadline and worker.poll() is None, log_path.read_text()
        time.sleep(0.1)


def test_a_worker_waits_for_an_unmigrated_database_then_registers(settings: Settings, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'not-yet.db'}"
    worker, log_path = start_worker(settings, tmp_path, database_url)
    try:
        time.sleep(4)  # several tries
        assert worker.poll() is None, log_path.read_text()
        assert log_path.read_text().count("cannot register in the database") == 1, log_path.read_text()

        upgrade(database_url)
        deadline = time.monotonic() + 30
        while True:
            with session_scope(database_url) as session:
                if session.scalars(select(Worker)).all():
                    break
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert worker.poll() is None
        # Registered is not yet ready: stop it once it works the queues (RQ's signal handlers are set).
        wait_for_line(worker, log_path, "working the queues", deadline)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    assert code == 0, log_path.read_text()
    assert "registered; the database answers again" in log_path.read_text()


def test_a_worker_stopped_while_it_waits_for_the_database_exits_cleanly(
    settings: Settings, tmp_path: Path
) -> None:
    worker, log_path = start_worker(settings, tmp_path, f"sqlite:///{tmp_path / 'never.db'}")
    try:
        wait_for_line(worker, log_path, "cannot register in the database", time.monotonic() + 30)
        # Before RQ's handlers exist: the signal must ask the worker to stop, not kill it.
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    assert code == 0, log_path.read_text()
