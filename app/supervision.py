"""Keep a set of child processes running until a signal asks them to stop.

Every child that exits (the API, the embedded Redis, a worker) is started again with exponential
backoff: a platform hiccup must not take the service down, and the workers ride out the minute the
API or Redis is away. A child that keeps crashing right after it starts (a configuration error,
typically) stops everything with exit status 1, so the mistake is loud rather than hidden in an endless
restart loop.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from app.processes import ManagedProcess, stop_all

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class RestartPolicy:
    """How crashed children come back: after `initial_delay` seconds, doubling up to `max_delay`."""

    initial_delay: float = 1.0
    max_delay: float = 30.0
    healthy_after: float = 60.0
    """A child that ran at least this many seconds before exiting starts a fresh count of crashes."""
    max_crashes_in_a_row: int = 5
    """Crashes in a row (each within `healthy_after` of its start) after which the stack gives up."""

    def __post_init__(self) -> None:
        if not 0 <= self.initial_delay <= self.max_delay:
            raise ValueError(
                f"`0 <= initial_delay <= max_delay` must hold, got {self.initial_delay=}, {self.max_delay=}"
            )
        if self.max_crashes_in_a_row < 1:
            raise ValueError(f"`max_crashes_in_a_row` must be at least 1, got {self.max_crashes_in_a_row}")

    def delay(self, crashes_in_a_row: int) -> float:
        """Seconds to wait before restarting a child that has just crashed `crashes_in_a_row` times."""
        return float(min(self.max_delay, self.initial_delay * 2 ** (crashes_in_a_row - 1)))


class StopRequest:
    """Set by a stop signal: `requested` after the first one, `forced` (skip the grace period) after two.

    Plain attributes, not a `threading.Event`: a signal handler must not take a lock the interrupted
    code may hold.
    """

    def __init__(self) -> None:
        self.requested = False
        self.forced = False
        self.signal_name: str | None = None

    def request(self, signal_name: str) -> None:
        self.forced = self.requested
        self.requested = True
        self.signal_name = self.signal_name or signal_name


@contextmanager
def stop_requested_by_signals(signals: Sequence[signal.Signals] = STOP_SIGNALS) -> Iterator[StopRequest]:
    """Turn SIGINT, SIGTERM and SIGHUP into a StopRequest for the duration of the block (main thread only)."""
    stop = StopRequest()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.request(signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("signal handlers can only be installed from the main thread")
    previous = {signum: signal.signal(signum, handle) for signum in signals}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def describe_exit(code: int) -> str:
    """'code 1' or 'signal SIGKILL', for log lines about a child that exited."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


@dataclass
class _Slot:
    process: ManagedProcess
    crashes_in_a_row: int = 0
    restart_at: float | None = None


def supervise(
    *,
    services: Sequence[ManagedProcess],
    workers: Sequence[ManagedProcess],
    stop: StopRequest,
    watched: Sequence[ManagedProcess] = (),
    policy: RestartPolicy = RestartPolicy(),
    shutdown_timeout: float = 10.0,
    poll_interval: float = 0.2,
) -> int:
    """Watch started processes until `stop` is requested (returns 0) or the stack fails (returns 1).

    Each one is restarted when it exits (`policy`); the stack fails when one crashed too often in a row.
    `services` and `workers` are stopped on the way out (SIGTERM, then SIGKILL after `shutdown_timeout`
    seconds); `watched` processes (the embedded Redis) are stopped by their owner, after everything that
    uses them.
    """
    slots = [_Slot(process) for process in [*watched, *services, *workers]]
    try:
        status = _watch(slots=slots, stop=stop, policy=policy, poll_interval=poll_interval)
    finally:
        log.info("stopping %d processes", len(services) + len(workers))
        stop_all([*services, *workers], timeout=shutdown_timeout, hurry=lambda: stop.forced)
    return status


def _watch(*, slots: Sequence[_Slot], stop: StopRequest, policy: RestartPolicy, poll_interval: float) -> int:
    while not stop.requested:
        for slot in slots:
            if not _tend(slot, policy):
                return 1
        time.sleep(poll_interval)
    log.info("%s received", stop.signal_name)
    return 0


def _tend(slot: _Slot, policy: RestartPolicy) -> bool:
    """Restart the slot's process when due; False when it crashed too often in a row to try again."""
    worker = slot.process
    if slot.restart_at is not None:
        if time.monotonic() >= slot.restart_at:
            slot.restart_at = None
            worker.start()
            log.info("%s restarted as pid %s", worker.name, worker.pid)
        return True
    code = worker.poll()
    if code is None:
        return True
    slot.crashes_in_a_row = 1 if worker.uptime >= policy.healthy_after else slot.crashes_in_a_row + 1
    if slot.crashes_in_a_row >= policy.max_crashes_in_a_row:
        log.error(
            "%s (pid %s) exited with %s, %d times in a row within %g s of starting; giving up",
            worker.name,
            worker.pid,
            describe_exit(code),
            slot.crashes_in_a_row,
            policy.healthy_after,
        )
        return False
    delay = policy.delay(slot.crashes_in_a_row)
    log.warning(
        "%s (pid %s) exited with %s; restarting it in %g s",
        worker.name,
        worker.pid,
        describe_exit(code),
        delay,
    )
    slot.restart_at = time.monotonic() + delay
    return True
