"""`caviar up` as a user runs it (embedded Redis, N workers), for the tests that kill its parts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.embedded_redis import free_loopback_port
from app.settings import Settings


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
        return self.get_ok(lambda: httpx.get(f"{self.api_url}{path}", timeout=5))

    def get_ok(self, request: Callable[[], httpx.Response]) -> Any:
        """Send `request` until it gets an answer below 500 (the API may be restarting): its JSON."""
        deadline = time.monotonic() + 60
        while True:
            try:
                response = request()
                if response.status_code < 500:
                    return response.json()
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, self.tail()
            time.sleep(0.2)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@pytest.fixture
def up(settings: Settings, tmp_path: Path) -> Iterator[UpStack]:
    """`caviar up --workers 2` on this test's database, with the tests' short leases."""
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
