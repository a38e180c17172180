"""A database fault under a running trial hands the trial back; it never becomes the trial's failure."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.api.main import create_app
from app.settings import Settings
from tests.e2e.conftest import process_env
from tests.integration.helpers import quick_spec

pytestmark = pytest.mark.slow


def libpq_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_connection_killed_while_reporting_an_epoch_requeues_the_trial(
    settings: Settings, tmp_path: Path
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs a database server whose connections can be killed")
    spec = quick_spec(budget={"max_trials": 1, "max_parallel": 1})
    spec["space"].update(epochs=60, hidden_units=64)
    with TestClient(create_app(settings)) as client:
        created = client.post("/searches", json=spec)
        assert created.status_code == 201, created.text
        search_id = created.json()["id"]
    env = process_env(
        settings,
        tmp_path,
        CAVIAR_LEASE_SECONDS="3",
        CAVIAR_HEARTBEAT_SECONDS="0.5",
        CAVIAR_RECONCILE_SECONDS="1",
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], env=env, stdout=log, stderr=log
        )
    conninfo = libpq_url(settings.database_url)
    try:
        with psycopg.connect(conninfo, autocommit=True) as control:

            def trial_state() -> tuple[str, int, str | None]:
                row = control.execute(
                    "SELECT state, attempt, error FROM trials WHERE search_id = %s", (search_id,)
                ).fetchone()
                assert row is not None
                return row[0], row[1], row[2]

            wait_until(lambda: trial_state()[0] == "running", 60, "the trial to run")
            # Block the worker's next epoch report (only reports write learning-curve points), then
            # kill its waiting connection, as a database restart or a network cut would.
            with psycopg.connect(conninfo) as locker:
                locker.execute("LOCK TABLE trial_metrics IN SHARE MODE")
                killed = 0
                deadline = time.monotonic() + 30
                while not killed and time.monotonic() < deadline:
                    killed = len(
                        control.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_locks "
                            "WHERE relation = 'trial_metrics'::regclass AND NOT granted"
                        ).fetchall()
                    )
                    time.sleep(0.02)
                locker.rollback()
            assert killed == 1, "the worker never reported an epoch while the table was locked"
            wait_until(lambda: trial_state()[0] not in ("queued", "running"), 120, "the trial to end")
            state, attempt, error = trial_state()
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert (state, error) == ("completed", None), log_path.read_text()[-3000:]
    assert attempt >= 2
