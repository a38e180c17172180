"""`caviar worker`: a long-lived process running trials from the queue, one at a time, without forking."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import FrameType
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus
from sqlalchemy.exc import SQLAlchemyError

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Worker, utcnow
from app.storage.repositories import WorkerRepository
from workers.heartbeat import HeartbeatThread, beat, reconcile
from workers.job_guard import refusal
from workers.nn import limit_blas_threads
from workers.objectives.registry import installed_objectives
from workers.platform_errors import PLATFORM_ERRORS
from workers.retry import StopRequested, retry_until_it_works
from workers.runtime import WorkerRuntime, install_runtime

log = logging.getLogger(__name__)


class TrialWorker(SimpleWorker):
    """RQ's in-process worker that runs trial jobs only; a stop signal also asks the running trial to
    hand itself back."""

    runtime: WorkerRuntime

    def execute_job(self, job: Job, queue: Queue) -> None:
        reason = refusal(job)
        if reason is None:
            super().execute_job(job, queue)
            return
        log.error("worker %s: refused job %s from queue %r: %s", self.name, job.id, queue.name, reason)
        self.handle_job_failure(job, queue, exc_string=f"refused by Caviar's worker: {reason}")
        self.set_state(WorkerStatus.IDLE)

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.runtime.shutdown.set()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # type: ignore[no-untyped-call]
        if self.runtime.shutdown.is_set():  # a signal came before RQ's handlers: its loop stops at once
            self._stop_requested = True


def run_worker(settings: Settings, *, burst: bool = False) -> WorkerRuntime:
    """Register, heartbeat and work the queue until stopped (or, with `burst`, until it is empty)."""
    limit_blas_threads(settings.worker_blas_threads)
    runtime = WorkerRuntime.from_settings(settings)
    install_runtime(runtime)
    previous_handlers = _stop_on_signals(runtime)
    _register_when_the_database_answers(runtime)
    heartbeat = HeartbeatThread(runtime)
    heartbeat.start()
    try:
        try:
            reconcile(runtime)  # pick up what was lost while no worker ran
        except PLATFORM_ERRORS as error:
            # The database (or Redis) went away again since registering: the heartbeat thread reconciles
            # on its first beat after it answers, so this worker goes on to wait for jobs.
            log.warning(
                "worker %s: first reconcile failed: %s: %s", runtime.worker_id, type(error).__name__, error
            )
        objectives = sorted(installed_objectives())
        log.info("worker %s: working the queues of %s", runtime.worker_id, ", ".join(objectives))
        while True:
            worker = TrialWorker(
                [runtime.queues.for_objective(name) for name in objectives],
                connection=runtime.queues.connection,
                serializer=JSONSerializer,
                name=runtime.worker_id,
            )
            worker.runtime = runtime
            try:
                # RQ's own lines (one per job started and finished) only when debugging: the database
                # records every trial, and a log line per cheap trial costs as much as the trial.
                rq_level = "DEBUG" if log.isEnabledFor(logging.DEBUG) else "WARNING"
                worker.work(burst=burst, logging_level=rq_level)
            except RedisError as error:
                # RQ left its loop on a Redis error (it logged it) and could not record its own
                # death either: Redis is down. Its pubsub thread, left running, would log every 2 s.
                log.warning("worker %s: lost Redis: %s: %s", runtime.worker_id, type(error).__name__, error)
                _stop_pubsub(worker)
            if burst or runtime.shutdown.is_set():
                break
            # Not asked to stop, so RQ quit on an error: wait for Redis, then work again. A worker
            # that exited here would leave the queue unserved until someone restarted it by hand.
            if not _wait_for_redis(runtime):
                break
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=settings.heartbeat_seconds * 2)
        _deregister(runtime)
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    return runtime


def _stop_on_signals(runtime: WorkerRuntime) -> dict[int, Any]:
    """Until RQ installs its own handlers, SIGTERM and SIGINT ask the worker to stop, as RQ's do, instead
    of killing it before it deregisters; returns the handlers to put back (none off the main thread,
    where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {
        signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    for signum in previous:
        signal.signal(signum, lambda _signum, _frame: runtime.shutdown.set())
    return previous


def _stop_pubsub(worker: TrialWorker) -> None:
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        thread.stop()
        thread.join(timeout=5)


def _wait_for_redis(runtime: WorkerRuntime) -> bool:
    """Wait until Redis answers; False if the worker was asked to stop meanwhile."""
    try:
        retry_until_it_works(
            runtime,
            runtime.queues.connection.ping,
            RedisError,
            outage="Redis unreachable",
            recovered="Redis answers again; back to work",
        )
    except StopRequested:
        return False
    return True


def _register_when_the_database_answers(runtime: WorkerRuntime) -> None:
    """Register, retrying while the database is unreachable or not migrated yet (a worker started
    before the database, or before `caviar db upgrade`, waits for it instead of exiting)."""
    try:
        retry_until_it_works(
            runtime,
            lambda: _register(runtime),
            SQLAlchemyError,
            outage="cannot register in the database",
            recovered="registered; the database answers again",
        )
    except StopRequested:
        pass  # run_worker's loop sees the stop and deregisters


def _register(runtime: WorkerRuntime) -> None:
    now = utcnow()
    with session_scope(runtime.settings.database_url) as session:
        WorkerRepository(session).register(
            Worker(
                id=runtime.worker_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                state="idle",
                current_trial_id=None,
                objectives=sorted(installed_objectives()),
                started_at=now,
                heartbeat_at=now,
            )
        )
    beat(runtime)


def _deregister(runtime: WorkerRuntime, **_: Any) -> None:
    try:
        with session_scope(runtime.settings.database_url) as session:
            WorkerRepository(session).heartbeat(
                runtime.worker_id, state="stopped", current_trial_id=None, now=utcnow()
            )
    except SQLAlchemyError as error:
        # Stopping while the database is away (or never migrated): its row, if any, goes stale and
        # reads as gone once its heartbeat is old; nothing of a trial is lost.
        first_line = str(error).splitlines()[0] if str(error) else ""
        log.warning("worker %s: stopped without marking itself stopped: %s", runtime.worker_id, first_line)
