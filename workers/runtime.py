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
    _held: dict[int, ClaimedRun] = field(default_factory=dict)
    """Runs claimed and not yet recorded: the one running, those claimed ahead, those being recorded."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    trial_seconds: dict[int, float] = field(default_factory=dict)
    """The last trial's run time per search: a search whose trials are cheap gets trials claimed ahead."""

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

    def hold(self, runs: list[ClaimedRun]) -> None:
        with self._lock:
            self._held.update((run.trial_id, run) for run in runs)

    def let_go(self, runs: list[ClaimedRun]) -> None:
        """Stop renewing these runs' leases (recorded, handed back, or abandoned to the reconciler)."""
        with self._lock:
            for run in runs:
                if self._held.get(run.trial_id) is run:
                    del self._held[run.trial_id]

    def held(self) -> list[ClaimedRun]:
        with self._lock:
            current = self._current
            held = list(self._held.values())
        if current is not None and all(run.trial_id != current.trial_id for run in held):
            held.append(current)
        return held


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
