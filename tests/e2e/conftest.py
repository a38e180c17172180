"""A real stack of processes: `caviar api` and `caviar worker`s, as in production; a headless browser."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver

from app.embedded_redis import free_loopback_port
from app.settings import Settings
from tests.e2e.browser import chromium
from tests.integration.helpers import quick_spec


@dataclass
class Stack:
    api_url: str
    env: dict[str, str]
    log_dir: Path
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.workers)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=log,
        )
        self.workers.append(process)
        return process

    def stop(self) -> None:
        for process in [*self.workers, *([self.api] if self.api else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers, *([self.api] if self.api else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    """Variables added to the stack's environment; a test module overrides this fixture to add some."""
    return {}


@pytest.fixture
def stack_worker_count() -> int:
    """Workers the stack starts; a test module of external (ask/tell) searches needs none."""
    return 2


def process_env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `caviar` process on this test's database, Redis and queues; `extra` sets
    more variables (leases, for one). The CAVIAR_-prefixed URLs are dropped so the plain ones count."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "CAVIAR_QUEUE_NAME": settings.queue_name,
        "CAVIAR_DATASET_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }
    env.pop("CAVIAR_DATABASE_URL", None)
    env.pop("CAVIAR_REDIS_URL", None)
    return env


@dataclass(frozen=True)
class RunningTrial:
    search_id: int
    trial_id: int
    worker: subprocess.Popen[bytes]
    """The stack's worker process running it."""


def one_trial_running(stack: Stack, epochs: int, hidden_units: int) -> RunningTrial:
    """Submit a one-trial search and wait until its trial has reported an epoch."""
    spec = quick_spec(budget={"max_trials": 1, "max_parallel": 1})
    spec["space"].update(epochs=epochs, batch_size=16, hidden_units=hidden_units)
    search_id = httpx.post(f"{stack.api_url}/searches", json=spec).json()["id"]
    trial_id = httpx.get(f"{stack.api_url}/searches/{search_id}/trials").json()["items"][0]["id"]
    deadline = time.monotonic() + 60
    while True:
        trial = httpx.get(f"{stack.api_url}/trials/{trial_id}").json()
        if trial["state"] == "running" and trial["curve"]:
            break
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.05)
    pid = int(trial["worker_id"].split("-")[-2])
    return RunningTrial(search_id, trial_id, next(w for w in stack.workers if w.pid == pid))


def wait_finished(stack: Stack, search_id: int, timeout: float = 180) -> dict[str, Any]:
    """The search once it is no longer running (failing with the stack's logs after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        search: dict[str, Any] = httpx.get(f"{stack.api_url}/searches/{search_id}").json()
        if search["state"] != "running":
            return search
        time.sleep(0.25)
    raise AssertionError(f"search {search_id} did not finish:\n{stack.logs()}")


@pytest.fixture
def stack(
    settings: Settings, tmp_path: Path, stack_extra_env: dict[str, str], stack_worker_count: int
) -> Iterator[Stack]:
    """The API and two workers (`stack_worker_count`) on this test's database and Redis, with 5-second
    leases (`stack_extra_env` may change any variable)."""
    port = free_loopback_port()
    leases = {
        "CAVIAR_LEASE_SECONDS": "5",
        "CAVIAR_ASK_LEASE_SECONDS": "5",
        "CAVIAR_HEARTBEAT_SECONDS": "0.5",
        "CAVIAR_RECONCILE_SECONDS": "1",
    }
    env = process_env(settings, tmp_path, **{**leases, **stack_extra_env})
    running = Stack(api_url=f"http://127.0.0.1:{port}", env=env, log_dir=tmp_path)
    api_log = (tmp_path / "api.log").open("wb")
    running.api = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "api", "--port", str(port)], env=env, stdout=api_log, stderr=api_log
    )
    for _ in range(stack_worker_count):
        running.start_worker()
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{running.api_url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or running.api.poll() is not None:
            running.stop()
            pytest.fail(f"the API did not come up:\n{running.logs()}")
        time.sleep(0.2)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium (tests using it skip where `chromium_available()` is false)."""
    with chromium() as driver:
        driver.set_window_size(1280, 800)
        yield driver


@pytest.fixture
def shoot(tmp_path: Path, browser: webdriver.Chrome) -> Callable[[str], Path]:
    """Save a full-page screenshot of what the browser shows, as `screenshots/<name>.png`."""
    folder = tmp_path / "screenshots"
    folder.mkdir()

    def save(name: str) -> Path:
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, min(max(800, height), 6000))
        time.sleep(0.3)  # let plotly's responsive resize settle
        path = folder / f"{name}.png"
        browser.save_screenshot(str(path))
        browser.set_window_size(1280, 800)
        return path

    return save
