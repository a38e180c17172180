"""The worker's background thread: heartbeat (worker row and the running trial's lease) and reconcile."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.queue import enqueue_after_commit
from app.services.reconcile import expire_leases, lost_jobs
from app.storage.db import session_scope
from app.storage.models import utcnow
from app.storage.repositories import TrialRepository, WorkerRepository
from workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)


def beat(runtime: WorkerRuntime) -> None:
    """Tell the database this worker (and the trials it holds) is alive."""
    run = runtime.current
    now = utcnow()
    with session_scope(runtime.settings.database_url) as session:
        WorkerRepository(session).heartbeat(
            runtime.worker_id,
            state="busy" if run else "idle",
            current_trial_id=run.trial_id if run else None,
            now=now,
        )
        trials = TrialRepository(session)
        for held in runtime.held():  # the running trial and those claimed ahead of it
            trials.touch_lease(held.trial_id, held.attempt, now)


LOST_JOB_SCAN_SECONDS = 15.0
"""How often each worker checks queued trials' jobs against Redis: a lost queue is rare, and the check
reads up to a thousand queued trials, so it runs less often than the (indexed) lease expiry."""


def requeue_expired(runtime: WorkerRuntime) -> None:
    """Re-queue running trials whose lease expired. Idempotent: any worker may run it."""
    settings = runtime.settings
    with session_scope(settings.database_url) as session:
        to_enqueue = expire_leases(session, settings, utcnow())
    enqueue_after_commit(runtime.queues, to_enqueue, timeout_seconds=settings.trial_timeout_seconds)


def requeue_lost(runtime: WorkerRuntime) -> None:
    """Enqueue again the queued trials whose job Redis lost. Idempotent: any worker may run it."""
    settings = runtime.settings
    with session_scope(settings.database_url) as session:
        lost = lost_jobs(session, runtime.queues, settings, utcnow())
    enqueue_after_commit(runtime.queues, lost, timeout_seconds=settings.trial_timeout_seconds)


def reconcile(runtime: WorkerRuntime) -> None:
    """Re-queue expired leases and trials whose job Redis lost."""
    requeue_expired(runtime)
    requeue_lost(runtime)


class HeartbeatThread(threading.Thread):
    def __init__(self, runtime: WorkerRuntime) -> None:
        super().__init__(name=f"heartbeat-{runtime.worker_id}", daemon=True)
        self.runtime = runtime
        self.stopped = threading.Event()
        self.failing: set[str] = set()
        """The tasks whose last try failed: an outage is logged when it starts and when it is over."""

    def run(self) -> None:
        settings = self.runtime.settings
        next_expiry = next_scan = time.monotonic()
        while not self.stopped.wait(settings.heartbeat_seconds):
            if not self._try("heartbeat", beat):
                continue
            if time.monotonic() >= next_expiry and self._try("lease expiry", requeue_expired):
                next_expiry = time.monotonic() + settings.reconcile_seconds
            if time.monotonic() >= next_scan and self._try("lost-job scan", requeue_lost):
                next_scan = time.monotonic() + LOST_JOB_SCAN_SECONDS

    def _try(self, task: str, action: Callable[[WorkerRuntime], None]) -> bool:
        """Run one task; a database or Redis outage must not kill the thread, nor log a traceback every
        beat for as long as it lasts: one line when it starts, one when it is over. The next beat retries."""
        try:
            action(self.runtime)
        except Exception as error:
            if task not in self.failing:
                self.failing.add(task)
                log.warning(
                    "worker %s: %s failing, retrying every %g s: %s: %s",
                    self.runtime.worker_id,
                    task,
                    self.runtime.settings.heartbeat_seconds,
                    type(error).__name__,
                    error,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
            return False
        if task in self.failing:
            self.failing.discard(task)
            log.warning("worker %s: %s working again", self.runtime.worker_id, task)
        return True
