"""Child processes of `caviar up`: stopping, restarting, and never outliving the supervisor."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.processes import ManagedProcess, stop_all
from app.supervision import RestartPolicy, StopRequest, supervise

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
SIGTERM_IGNORER = [
    sys.executable,
    "-c",
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    "time.sleep(60)",
]
FAST_RESTARTS = RestartPolicy(initial_delay=0.05, max_delay=0.1, healthy_after=60.0, max_crashes_in_a_row=100)

# A supervisor in its own process, so tests can signal or SIGKILL it; prints its children's pids.
SUPERVISOR_SCRIPT = """
import json, sys
from app.processes import ManagedProcess
from app.supervision import stop_requested_by_signals, supervise
sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
api = ManagedProcess("api", sleeper)
workers = [ManagedProcess(f"worker-{index}", sleeper) for index in (1, 2)]
with stop_requested_by_signals() as stop:
    for process in [api, *workers]:
        process.start()
    print(json.dumps([process.pid for process in [api, *workers]]), flush=True)
    sys.exit(supervise(services=[api], workers=workers, stop=stop))
"""


# A supervisor whose API ignores SIGTERM and whose grace period outlasts any test timeout.
STUBBORN_SUPERVISOR_SCRIPT = """
import json, signal, sys, time
from app.processes import ManagedProcess
from app.supervision import stop_requested_by_signals, supervise
ignorer = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
api = ManagedProcess("api", [sys.executable, "-c", ignorer])
with stop_requested_by_signals() as stop:
    api.start()
    time.sleep(0.5)  # let the child install its SIG_IGN before anyone signals it
    print(json.dumps(api.pid), flush=True)
    sys.exit(supervise(services=[api], workers=[], stop=stop, shutdown_timeout=600))
"""


def _is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def processes() -> Iterator[list[ManagedProcess]]:
    """Processes a test starts; whatever is still running afterwards is killed."""
    started: list[ManagedProcess] = []
    yield started
    stop_all(started, timeout=0)


@pytest.fixture
def supervisor_with_children() -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """A supervisor process running an api and two workers, with the children's pids."""
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    assert supervisor.stdout is not None
    child_pids: list[int] = json.loads(supervisor.stdout.readline())
    yield supervisor, child_pids
    supervisor.kill()
    supervisor.wait()
    supervisor.stdout.close()


def _stop_when(condition: Callable[[], bool], stop: StopRequest) -> threading.Thread:
    """Request `stop` from a helper thread once `condition` holds (or after a while, so tests end)."""

    def watch() -> None:
        _eventually(condition)
        stop.request("test")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_stop_all_terminates_every_child(processes: list[ManagedProcess]) -> None:
    processes.extend(ManagedProcess(f"sleeper-{index}", SLEEPER) for index in range(3))
    for process in processes:
        process.start()

    stop_all(processes, timeout=10)

    assert [process.poll() for process in processes] == [-signal.SIGTERM] * 3


def test_stop_all_kills_a_child_that_ignores_sigterm(tmp_path: Path, processes: list[ManagedProcess]) -> None:
    stubborn = ManagedProcess("stubborn", SIGTERM_IGNORER, output=tmp_path / "out.log")
    processes.append(stubborn)
    stubborn.start()
    assert _eventually(lambda: "ready" in (tmp_path / "out.log").read_text())

    stop_all([stubborn], timeout=0.2)

    assert stubborn.poll() == -signal.SIGKILL


def test_kill_ends_the_childs_own_children_too(tmp_path: Path, processes: list[ManagedProcess]) -> None:
    spawner = [
        sys.executable,
        "-c",
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)",
    ]
    parent = ManagedProcess("spawner", spawner, output=tmp_path / "out.log")
    processes.append(parent)
    parent.start()
    assert _eventually(lambda: (tmp_path / "out.log").read_text().strip() != "")
    grandchild_pid = int((tmp_path / "out.log").read_text())

    parent.kill()
    parent.wait()

    assert _eventually(lambda: not _is_alive(grandchild_pid))


def test_managed_process_can_be_started_again_after_it_exits(processes: list[ManagedProcess]) -> None:
    process = ManagedProcess("once", [sys.executable, "-c", "pass"])
    processes.append(process)
    process.start()
    first_pid = process.pid
    process.wait()

    process.start()

    assert process.pid != first_pid
    assert process.starts == 2


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_supervisor_stops_every_child_and_exits_zero_on_a_stop_signal(
    supervisor_with_children: tuple[subprocess.Popen[str], list[int]], stop_signal: signal.Signals
) -> None:
    supervisor, child_pids = supervisor_with_children

    supervisor.send_signal(stop_signal)

    assert supervisor.wait(timeout=30) == 0
    assert not any(_is_alive(pid) for pid in child_pids)


def test_a_second_stop_signal_skips_the_grace_period() -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", STUBBORN_SUPERVISOR_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    assert supervisor.stdout is not None
    api_pid = json.loads(supervisor.stdout.readline())

    supervisor.send_signal(signal.SIGINT)
    time.sleep(0.3)  # the first signal must be handled on its own, not merged with the second
    supervisor.send_signal(signal.SIGINT)

    try:
        assert supervisor.wait(timeout=30) == 0
        assert _eventually(lambda: not _is_alive(api_pid))
    finally:
        supervisor.kill()
        supervisor.wait()
        supervisor.stdout.close()


@linux_only
def test_children_die_when_the_supervisor_is_sigkilled(
    supervisor_with_children: tuple[subprocess.Popen[str], list[int]],
) -> None:
    supervisor, child_pids = supervisor_with_children

    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait()

    assert _eventually(lambda: not any(_is_alive(pid) for pid in child_pids)), (
        "children outlived the supervisor"
    )


def test_supervise_restarts_a_worker_that_exits(tmp_path: Path, processes: list[ManagedProcess]) -> None:
    runs = tmp_path / "runs.txt"
    crasher = [sys.executable, "-c", f"open({str(runs)!r}, 'a').write('run\\n'); raise SystemExit(1)"]
    api = ManagedProcess("api", SLEEPER)
    worker = ManagedProcess("worker-1", crasher)
    processes.extend([api, worker])
    api.start()
    worker.start()
    stop = StopRequest()
    _stop_when(lambda: runs.exists() and len(runs.read_text().splitlines()) >= 3, stop)

    status = supervise(services=[api], workers=[worker], stop=stop, policy=FAST_RESTARTS, poll_interval=0.02)

    assert status == 0
    assert len(runs.read_text().splitlines()) >= 3


def test_supervise_gives_up_on_a_worker_that_keeps_crashing(processes: list[ManagedProcess]) -> None:
    api = ManagedProcess("api", SLEEPER)
    worker = ManagedProcess("worker-1", [sys.executable, "-c", "raise SystemExit(1)"])
    processes.extend([api, worker])
    api.start()
    worker.start()
    policy = RestartPolicy(initial_delay=0.01, max_delay=0.01, healthy_after=60.0, max_crashes_in_a_row=3)

    status = supervise(
        services=[api], workers=[worker], stop=StopRequest(), policy=policy, poll_interval=0.02
    )

    assert status == 1
    assert worker.starts == 3
    assert not api.is_running()


def test_supervise_restarts_the_api_and_a_watched_process_that_exit(
    tmp_path: Path, processes: list[ManagedProcess]
) -> None:
    runs = tmp_path / "runs.txt"

    def crasher(name: str) -> list[str]:
        return [sys.executable, "-c", f"open({str(runs)!r}, 'a').write('{name}\\n'); raise SystemExit(3)"]

    api = ManagedProcess("api", crasher("api"))
    queue = ManagedProcess("redis", crasher("redis"))
    worker = ManagedProcess("worker-1", SLEEPER)
    processes.extend([api, queue, worker])
    for process in processes:
        process.start()
    stop = StopRequest()

    def restarted_twice() -> bool:
        lines = runs.read_text().splitlines() if runs.exists() else []
        return lines.count("api") >= 3 and lines.count("redis") >= 3

    _stop_when(restarted_twice, stop)
    status = supervise(
        services=[api], workers=[worker], watched=[queue], stop=stop, policy=FAST_RESTARTS, poll_interval=0.02
    )

    assert status == 0, "a service that exits is restarted, not the end of the stack"
    assert api.starts >= 3 and queue.starts >= 3
    assert worker.starts == 1, "the workers were left running meanwhile"


def test_supervise_gives_up_and_stops_the_workers_when_the_api_keeps_crashing(
    processes: list[ManagedProcess],
) -> None:
    api = ManagedProcess("api", [sys.executable, "-c", "raise SystemExit(3)"])
    workers = [ManagedProcess(f"worker-{index}", SLEEPER) for index in (1, 2)]
    processes.extend([api, *workers])
    for process in processes:
        process.start()
    policy = RestartPolicy(initial_delay=0.01, max_delay=0.01, healthy_after=60.0, max_crashes_in_a_row=3)

    status = supervise(services=[api], workers=workers, stop=StopRequest(), policy=policy, poll_interval=0.02)

    assert status == 1
    assert api.starts == 3
    assert not any(worker.is_running() for worker in workers)


def test_restart_delay_doubles_up_to_the_maximum() -> None:
    policy = RestartPolicy(initial_delay=1.0, max_delay=5.0)

    assert [policy.delay(crashes) for crashes in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
