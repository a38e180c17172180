"""Child processes that die with their parent and stop within a bounded time.

Every child gets its own process group, so a Ctrl-C typed in the terminal reaches only the parent,
which then stops the children in order (the queue last). On Linux each child also asks the kernel for
SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), so even a SIGKILLed parent leaves no orphan.
The kernel ties that signal to the *thread* that started the child: start children from a thread that
lives as long as they should (the main thread, in ``caviar up``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when this process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved before the fork: between fork and exec the child should do as little as possible.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent_pid = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died between fork() and prctl(); then nobody would ever send the signal.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


class ManagedProcess:
    """One child command in its own process group, bound to this process's lifetime; restartable."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        output: Path | None = None,
    ) -> None:
        """`env` replaces the environment when given; `output` receives stdout and stderr (else inherited)."""
        if not argv:
            raise ValueError(f"`argv` of process {name!r} must name a command, got an empty sequence")
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.output = output
        self.starts = 0
        self._popen: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def uptime(self) -> float:
        """Seconds since the last start (monotonic clock)."""
        return time.monotonic() - self._started_at

    def start(self) -> None:
        """Start the command; a process that ran before and exited is started afresh."""
        if self.is_running():
            raise RuntimeError(f"{self.name} is already running as pid {self.pid}")
        if self.output is not None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            with self.output.open("ab") as sink:
                self._popen = self._spawn(stdout=sink)
        else:
            self._popen = self._spawn(stdout=None)
        self._started_at = time.monotonic()
        self.starts += 1
        log.debug("started %s as pid %d: %s", self.name, self._popen.pid, shlex.join(self.argv))

    def _spawn(self, stdout: IO[bytes] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            process_group=0,
            preexec_fn=_die_with_parent_hook(),
        )

    def poll(self) -> int | None:
        """The exit code once the process has exited (negative: killed by that signal), else None."""
        return self._popen.poll() if self._popen is not None else None

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def terminate(self) -> None:
        """Ask the process (not its group) to stop with SIGTERM, letting it stop its own children."""
        if self.is_running():
            assert self._popen is not None
            self._popen.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the whole process group, so the child's own children go too."""
        if self.is_running():
            assert self._popen is not None
            try:
                os.killpg(self._popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # exited between the check and the signal

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the exit code; None if the process is still running after `timeout` seconds."""
        if self._popen is None:
            return None
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def stop_all(
    processes: Iterable[ManagedProcess], *, timeout: float, hurry: Callable[[], bool] | None = None
) -> None:
    """SIGTERM every running process, wait up to `timeout` seconds in total, then SIGKILL the stragglers.

    `hurry` is polled during the grace period; once it returns True (a second Ctrl-C, say) the wait ends.
    """
    running = [process for process in processes if process.is_running()]
    for process in running:
        log.debug("stopping %s (pid %s)", process.name, process.pid)
        process.terminate()
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline and not (hurry is not None and hurry()):
        time.sleep(0.05)
        running = [process for process in running if process.is_running()]
    for process in running:
        if process.is_running():
            log.warning("%s (pid %s) did not stop after SIGTERM; killing it", process.name, process.pid)
            process.kill()
    for process in running:
        process.wait()
