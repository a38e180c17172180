"""`caviar up` keeps the service up when a piece of it dies: the embedded Redis or the API SIGKILLed
mid-search is started again, the workers wait for it, and the search finishes with no trial failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.embedded_redis import free_loopback_port
from app.settings import Settings
from tests.integration.helpers import quick_spec

pytestmark = pytest.mark.slow


def children_of(parent: int, needle: str) -> list[int]:
    """Child processes of `parent` whose command line holds `needle` (redis-server rewrites its own
    command line to its address, so its arguments are no use)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and needle in cmdline:
            found.append(int(entry.name))
    return found


class UpStack:
    def __init__(self, process: subprocess.Popen[bytes], api_url: str, log: Path) -> None:
        self.process, self.api_url, self.log = process, api_url, log

    def get(self, path: str) -> Any:
        """GET `path`, waiting out the seconds the API is away (restarting)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"{self.api_url}{path}", timeout=5)
                if response.status_code < 500:
                    return response.json()
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, self.log.read_text(errors="replace")[-5000:]
            time.sleep(0.2)


@pytest.fixture
def up(settings: Settings, tmp_path: Path) -> Iterator[UpStack]:
    port = free_loopback_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "CAVIAR_QUEUE_NAME": settings.queue_name,
        "CAVIAR_LEASE_SECONDS": "5",
        "CAVIAR_HEARTBEAT_SECONDS": "0.5",
        "CAVIAR_RECONCILE_SECONDS": "1",
    }
    for name in ("REDIS_URL", "CAVIAR_REDIS_URL", "CAVIAR_DATABASE_URL"):
        env.pop(name, None)  # the embedded Redis
    log = tmp_path / "up.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=output,
        )
    stack = UpStack(process, f"http://127.0.0.1:{port}", log)
    try:
        stack.get("/healthz")
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_killed_redis_and_a_killed_api_come_back_and_no_trial_fails(up: UpStack) -> None:
    spec = quick_spec(budget={"max_trials": 6, "max_parallel": 2})
    spec["space"].update(epochs=10, batch_size=16)
    search_id = httpx.post(f"{up.api_url}/searches", json=spec).json()["id"]
    deadline = time.monotonic() + 60
    while not up.get(f"/searches/{search_id}")["counts"].get("running"):
        assert time.monotonic() < deadline, up.log.read_text(errors="replace")[-5000:]
        time.sleep(0.1)

    [redis_pid] = children_of(up.process.pid, "redis-server")
    os.kill(redis_pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not [pid for pid in children_of(up.process.pid, "redis-server") if pid != redis_pid]:
        assert time.monotonic() < deadline, "the embedded Redis was not started again"
        time.sleep(0.2)

    [api_pid] = children_of(up.process.pid, " api ")
    os.kill(api_pid, signal.SIGKILL)
    up.get("/healthz")  # answers again: restarted

    deadline = time.monotonic() + 240
    while (search := up.get(f"/searches/{search_id}"))["state"] == "running":
        assert time.monotonic() < deadline, up.log.read_text(errors="replace")[-5000:]
        time.sleep(0.5)
    assert up.process.poll() is None, "caviar up stopped"
    counts = search["counts"]
    assert not counts.get("failed") and counts.get("completed", 0) + counts.get("pruned", 0) == 6, counts
    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=30) == 0
