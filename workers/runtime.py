"""What a worker process shares between its job loop and its heartbeat thread."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from dataclasses import dataclass, field

from app.queue import TrialQueues, trial_queues
from app.services.trial_runs import ClaimedRun
from app.settings import Settings, get_settings
from workers.dataset_cache import DatasetCache


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class WorkerRuntime:
    worker_id: str
    settings: Settings
    queues: TrialQueues
    datasets: DatasetCache
    shutdown: threading.Event = field(default_factory=threading.Event)
    _current: ClaimedRun | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerRuntime:
        if settings.redis_url is None:
            raise ValueError("a worker needs REDIS_URL (or CAVIAR_REDIS_URL) to find the queue")
        return cls(
            worker_id=new_worker_id(),
            settings=settings,
            queues=trial_queues(settings.redis_url, settings.queue_name),
            datasets=DatasetCache(settings.database_url, settings.dataset_cache_dir),
        )

    @property
    def current(self) -> ClaimedRun | None:
        with self._lock:
            return self._current

    @current.setter
    def current(self, run: ClaimedRun | None) -> None:
        with self._lock:
            self._current = run


_runtime: WorkerRuntime | None = None


def install_runtime(runtime: WorkerRuntime) -> None:
    global _runtime
    _runtime = runtime


def current_runtime() -> WorkerRuntime:
    """The runtime `caviar worker` installed; a default one when a plain RQ worker runs our jobs."""
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime.from_settings(get_settings())
    return _runtime
