"""The worker's background thread: heartbeat (worker row and the running trial's lease) and reconcile."""

from __future__ import annotations

import logging
import threading
import time

from app.queue import enqueue_after_commit
from app.services.reconcile import expire_leases, lost_jobs
from app.storage.db import session_scope
from app.storage.models import utcnow
from app.storage.repositories import TrialRepository, WorkerRepository
from workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)


def beat(runtime: WorkerRuntime) -> None:
    """Tell the database this worker (and the trial it runs) is alive."""
    run = runtime.current
    now = utcnow()
    with session_scope(runtime.settings.database_url) as session:
        WorkerRepository(session).heartbeat(
            runtime.worker_id,
            state="busy" if run else "idle",
            current_trial_id=run.trial_id if run else None,
            now=now,
        )
        if run is not None:
            TrialRepository(session).touch_lease(run.trial_id, run.attempt, now)


def reconcile(runtime: WorkerRuntime) -> None:
    """Re-queue expired leases and trials whose job Redis lost. Idempotent: any worker may run it."""
    settings = runtime.settings
    now = utcnow()
    with session_scope(settings.database_url) as session:
        to_enqueue = expire_leases(session, settings, now)
    enqueue_after_commit(runtime.queues, to_enqueue, timeout_seconds=settings.trial_timeout_seconds)
    with session_scope(settings.database_url) as session:
        lost = lost_jobs(session, runtime.queues, settings, now)
    enqueue_after_commit(runtime.queues, lost, timeout_seconds=settings.trial_timeout_seconds)


class HeartbeatThread(threading.Thread):
    def __init__(self, runtime: WorkerRuntime) -> None:
        super().__init__(name=f"heartbeat-{runtime.worker_id}", daemon=True)
        self.runtime = runtime
        self.stopped = threading.Event()

    def run(self) -> None:
        settings = self.runtime.settings
        next_reconcile = time.monotonic()
        while not self.stopped.wait(settings.heartbeat_seconds):
            try:
                beat(self.runtime)
                if time.monotonic() >= next_reconcile:
                    reconcile(self.runtime)
                    next_reconcile = time.monotonic() + settings.reconcile_seconds
            except Exception:
                # A database or Redis hiccup must not kill the thread: the next beat retries.
                log.exception("worker %s: heartbeat or reconcile failed", self.runtime.worker_id)
