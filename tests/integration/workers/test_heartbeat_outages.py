"""The worker's heartbeat thread across a real Redis outage: one line when it starts, one when it is
over, the thread alive throughout, and the work the outage held up done once Redis is back."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from app.embedded_redis import EmbeddedRedis, free_loopback_port
from app.queue import TrialJob, jobs_alive
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.repositories import TrialRepository
from tests.integration.helpers import quick_spec
from tests.integration.workers.test_worker_runs_searches import submit
from workers import heartbeat
from workers.heartbeat import HeartbeatThread
from workers.runtime import WorkerRuntime


def test_a_redis_outage_is_logged_once_and_its_lost_jobs_are_enqueued_when_it_ends(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    search_id = submit(settings, quick_spec(budget={"max_trials": 2, "max_parallel": 2}))
    with session_scope(settings.database_url) as session:
        queued = [TrialJob(t.id, t.attempt, "mlp") for t in TrialRepository(session).of_search(search_id)]
    port = free_loopback_port()  # nothing listens here yet: Redis is down
    outage = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{port}/0", "heartbeat_seconds": 0.05}
    )
    monkeypatch.setattr(heartbeat, "LOST_JOB_SCAN_SECONDS", 0.0)  # scan at every beat
    runtime = WorkerRuntime.from_settings(outage)
    thread = HeartbeatThread(runtime)
    caplog.set_level(logging.WARNING, logger="workers.heartbeat")
    thread.start()
    redis = EmbeddedRedis(tmp_path / "redis", port=port)
    try:
        time.sleep(1.0)  # about 20 beats, each scan failing
        failing = [r for r in caplog.records if "lost-job scan failing" in r.getMessage()]
        assert len(failing) == 1, [r.getMessage() for r in caplog.records]
        assert not any("heartbeat failing" in r.getMessage() for r in caplog.records), "the database is up"
        redis.start()
        deadline = time.monotonic() + 10
        while not all(jobs_alive(runtime.queues, queued)):
            assert time.monotonic() < deadline, "the lost jobs were not enqueued once Redis was back"
            time.sleep(0.05)
        # The scan logs that it works again once its enqueue returned: after the jobs show, not before.
        while not any("lost-job scan working again" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)
        time.sleep(0.2)  # a few more beats: none may log again
        assert thread.is_alive()
        messages = [r.getMessage() for r in caplog.records]
        assert sum("lost-job scan working again" in m for m in messages) == 1, messages
        assert sum("failing" in m for m in messages) == 1, messages
        assert not any(r.exc_info for r in caplog.records), "no traceback per beat"
    finally:
        thread.stopped.set()
        thread.join(timeout=5)
        redis.stop()
