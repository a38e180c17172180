"""One queue job's run of trials: its own, then its search's next ones, claimed without the queue.

The job's thread runs trials; a recorder thread writes their outcomes and, in the same transaction,
claims what comes next, so the next trial is already held (claimed, leased) when one ends, or arrives in
that one round trip. While the search's trials are cheap the chain holds up to `worker_prefetch` trials
ahead and records outcomes in batches. Every held trial is leased to this worker (the heartbeat renews
them all): a worker killed while holding them loses them to the reconciler, which re-queues them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque

from app.queue import CHAIN_ALLOWANCE_SECONDS, drop_jobs, enqueue_after_commit
from app.services.trial_batches import Refill, Result, record_and_refill
from app.services.trial_pauses import pause_run
from app.services.trial_runs import ClaimedRun, Outcome
from app.storage.db import session_scope
from workers.platform_errors import DATABASE_ERRORS
from workers.retry import StopRequested, retry_until_it_works
from workers.runtime import WorkerRuntime
from workers.trial_context import PausePoint

log = logging.getLogger(__name__)

RunEnd = Result | PausePoint
"""How a run ends: a result to record, a pause, or the trial handed back (or already gone)."""


class Chain:
    """The trials one job holds for one search; `next_run()` hands them out, `done()` takes results."""

    def __init__(self, runtime: WorkerRuntime, first: list[ClaimedRun]) -> None:
        self.runtime = runtime
        self.search_id = first[0].search_id
        settings = runtime.settings
        self._deadline = time.monotonic() + min(settings.worker_chain_seconds, CHAIN_ALLOWANCE_SECONDS / 2)
        self._ready: deque[ClaimedRun] = deque(first)
        self._pending: list[tuple[ClaimedRun, RunEnd]] = []
        self._wanting = False
        self._recording = False
        self._exhausted = False
        self._closing = False
        self._failed = False
        self._changed = threading.Condition()
        runtime.hold(first)
        self._recorder = threading.Thread(target=self._record_loop, name="trial-recorder", daemon=True)
        self._recorder.start()

    def next_run(self) -> ClaimedRun | None:
        """The next trial to run, waiting for the recorder's claim if it has one coming; None: chain over."""
        with self._changed:
            while not self._ready:
                settled = not self._pending and not self._recording
                if self._failed or (settled and (self._exhausted or self._over())):
                    return None
                self._changed.wait()
            if self.runtime.shutdown.is_set():
                return None
            self._wanting = False
            return self._ready.popleft()

    def done(self, run: ClaimedRun, result: RunEnd) -> None:
        """Hand a finished run to the recorder; the caller asks for the next one right after."""
        with self._changed:
            self._pending.append((run, result))
            self._wanting = True
            self._changed.notify_all()

    def close(self) -> None:
        """Record what is left, hand back trials claimed ahead and not started, stop the recorder."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._recorder.join()

    def _over(self) -> bool:
        return self._closing or self.runtime.shutdown.is_set() or time.monotonic() > self._deadline

    @staticmethod
    def ahead_of(runtime: WorkerRuntime, search_id: int) -> tuple[int, int]:
        """(0, trials to hold ahead of the running one): one while the search's trials are new to this
        worker, none once one ran long here (held ahead, a long trial would keep an idle worker waiting),
        and while they are cheap enough for about `prefetch_seconds` of work, at most `worker_prefetch`.
        (`claim_queued` takes trials ahead only while as many stay queued for other workers, besides those
        proposed in the room the worker's own results made when `keeps_proposed`.)"""
        last = runtime.trial_seconds.get(search_id)
        if runtime.settings.worker_prefetch == 0 or (
            last is not None and last >= runtime.settings.cheap_trial_seconds
        ):
            return 0, 0
        if last is None:
            return 0, 1
        wanted = math.ceil(runtime.settings.prefetch_seconds / max(last, 1e-6))
        return 0, min(runtime.settings.worker_prefetch, max(1, wanted))

    @staticmethod
    def keeps_proposed(runtime: WorkerRuntime, search_id: int) -> bool:
        """Whether the search's trials are so cheap here that `worker_prefetch` of them are at most
        `prefetch_seconds` of work (6 ms a trial by default): recording them costs more than running them,
        so the worker takes back the trials its results made room for instead of leaving them queued."""
        last = runtime.trial_seconds.get(search_id)
        settings = runtime.settings
        return (
            settings.worker_prefetch > 0
            and last is not None
            and last * settings.worker_prefetch <= settings.prefetch_seconds
        )

    def _wants(self) -> tuple[int, int]:
        """(trials needed now, trials to claim ahead); the caller holds the lock."""
        if self._over():
            return 0, 0
        needed = 1 if self._wanting and not self._ready else 0
        # Held ahead once the job's thread has taken its next one (if it is waiting for it).
        held_ahead = len(self._ready) - (1 if self._wanting and self._ready else 0)
        return needed, max(0, self.ahead_of(self.runtime, self.search_id)[1] - held_ahead)

    def _record_loop(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                batch, self._pending = self._pending, []
                if self._over():
                    batch += [(run, "release") for run in self._ready]
                    self._ready.clear()
                if not batch:
                    return
                needed, extra = self._wants()
                self._recording = True
            refill = self._record(batch, needed, extra)
            with self._changed:
                self._recording = False
                if refill is None:
                    self._failed = True
                    self.runtime.let_go([run for run, _ in batch] + list(self._ready))
                    self._ready.clear()
                    self._changed.notify_all()
                    return
                self._ready.extend(refill.claimed)
                self._exhausted = needed + extra > 0 and not refill.claimed
                self._changed.notify_all()

    def _record(self, batch: list[tuple[ClaimedRun, RunEnd]], needed: int, extra: int) -> Refill | None:
        runtime = self.runtime
        keep_proposed = self.keeps_proposed(runtime, self.search_id)

        def transaction() -> Refill:
            with session_scope(runtime.settings.database_url) as session:
                to_enqueue = []
                for run, result in batch:
                    if isinstance(result, PausePoint):
                        to_enqueue += pause_run(session, run, result.step, result.checkpoint, result.request)
                results = [(run, result) for run, result in batch if not isinstance(result, PausePoint)]
                refill = record_and_refill(
                    session,
                    self.search_id,
                    results,
                    runtime.worker_id,
                    needed=needed,
                    extra=extra,
                    keep_proposed=keep_proposed,
                )
                refill.to_enqueue += to_enqueue
                return refill

        try:
            refill = retry_until_it_works(
                runtime,
                transaction,
                DATABASE_ERRORS,
                outage=f"search {self.search_id}: cannot record {len(batch)} trial outcome(s)",
                recovered="the database answers again",
            )
        except StopRequested:
            # Left as they are: their leases expire and the reconciler re-queues them.
            log.warning("search %s: worker stopping while the database is unreachable", self.search_id)
            return None
        runtime.hold(refill.claimed)
        runtime.let_go([run for run, _ in batch])
        timeout = runtime.settings.trial_timeout_seconds
        enqueue_after_commit(runtime.queues, refill.to_enqueue, timeout_seconds=timeout)
        drop_jobs(runtime.queues, refill.to_drop)
        for run, result in batch:
            if isinstance(result, PausePoint):
                log.info("trial %s: paused after step %s", run.trial_id, result.step)
            elif isinstance(result, Outcome):
                log.debug("trial %s: %s (value=%s)", run.trial_id, result.state.value, result.value)
        return refill
