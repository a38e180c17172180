"""Caviar as a user runs it, for the service benchmarks: `caviar api` and `caviar worker` processes on a
scratch database and a Redis database, searches submitted and followed over HTTP.

`sleep_plugin` installs (on the processes' PYTHONPATH only) an objective `sleep` that sleeps
`params["seconds"]` and appends its call's start and end (wall clock) to `<times dir>/<pid>.txt`: the
dispatch-gap benchmark reads the gaps between one worker's calls from there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker

from app.embedded_redis import free_loopback_port
from app.queue import trial_queues
from app.storage.db import get_engine, session_scope
from app.storage.migrate import upgrade
from app.storage.models import Trial
from bench.stack import scratch_database, wait_healthy

REPO = Path(__file__).resolve().parent.parent
QUEUE_NAME = "caviar-bench"
READY_TIMEOUT_SECONDS = 60.0
RUN_TIMEOUT_SECONDS = 1800.0

SLEEP_MODULE = """
import os, time

def sleep(params, trial):
    started = time.time()
    time.sleep(float(params["seconds"]))
    ended = time.time()
    with open(os.path.join(os.environ["CAVIAR_BENCH_TIMES"], f"{os.getpid()}.txt"), "a") as times:
        times.write(f"{started} {ended}\\n")
    return {"loss": float(params["x"])}
"""


def sleep_plugin(directory: Path) -> Path:
    """A site directory holding the `sleep` objective and the entry point that registers it."""
    site = directory / "plugin-site"
    info = site / "caviar_bench_sleep-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (site / "caviar_bench_sleep.py").write_text(SLEEP_MODULE)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: caviar-bench-sleep\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[caviar.objectives]\nsleep = caviar_bench_sleep:sleep\n")
    return site


@contextmanager
def redis_database(redis_url: str) -> Iterator[str]:
    """`redis_url` (a dedicated database number), flushed before and after."""
    try:
        connection = Redis.from_url(redis_url, socket_connect_timeout=1)
        connection.ping()
    except RedisConnectionError as error:
        raise SystemExit(f"the service benchmarks need a Redis at {redis_url}: {error}") from error
    connection.flushdb()
    try:
        yield redis_url
    finally:
        connection.flushdb()
        connection.close()


@dataclass
class CaviarStack:
    api_url: str
    database_url: str
    redis_url: str
    processes: list[subprocess.Popen[bytes]]

    def submit(self, spec: dict[str, Any]) -> int:
        response = httpx.post(f"{self.api_url}/searches", json=spec, timeout=30)
        response.raise_for_status()
        search_id: int = response.json()["id"]
        return search_id

    def wait(self, search_id: int, poll_seconds: float = 0.1) -> dict[str, Any]:
        """The search once it stopped running, read over HTTP."""
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        # One client, its connection kept alive, as a dashboard polls: `httpx.get` builds a client (and its
        # TLS context) per call, ~15 ms of this process's CPU a poll, taken from the stack it measures.
        with httpx.Client(base_url=self.api_url, timeout=30) as client:
            while time.monotonic() < deadline:
                search: dict[str, Any] = client.get(f"/searches/{search_id}").json()
                if search["state"] != "running":
                    return search
                if any(process.poll() is not None for process in self.processes):
                    raise RuntimeError("a Caviar process exited during the run; see its log")
                time.sleep(poll_seconds)
        raise TimeoutError(f"search {search_id} still running after {RUN_TIMEOUT_SECONDS:.0f} s")

    def trials(self, search_id: int) -> list[tuple[str, datetime, datetime, str | None]]:
        """(state, started_at, finished_at, worker) of the search's trials, from the database."""
        with session_scope(self.database_url) as session:
            rows = session.execute(
                sqlalchemy.select(Trial.state, Trial.started_at, Trial.finished_at, Trial.worker_id).where(
                    Trial.search_id == search_id
                )
            ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def completed_span(self, search_id: int, search: dict[str, Any], trials: int) -> float:
        """Seconds from the first trial's start to the last one's end, once the search (as the API
        returned it at the end) completed all `trials`; raises otherwise."""
        completed = [row for row in self.trials(search_id) if row[0] == "completed"]
        if search["state"] != "completed" or len(completed) != trials:
            raise RuntimeError(f"search ended {search['state']} with {len(completed)}/{trials} completed")
        return (max(row[2] for row in completed) - min(row[1] for row in completed)).total_seconds()


@contextmanager
def caviar_stack(
    backend: str,
    *,
    workers: int,
    postgres_url: str,
    redis_url: str,
    logs: Path,
    objective: str = "quadratic",
    log_level: str = "INFO",
    extra_env: dict[str, str] | None = None,
) -> Iterator[CaviarStack]:
    """A migrated scratch database, `caviar api` and `workers` workers, ready for `objective`."""
    with scratch_database(backend, "caviar_bench", postgres_url) as database_url, redis_database(redis_url):
        upgrade(database_url)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CAVIAR_QUEUE_NAME": QUEUE_NAME,
        }
        env |= {"CAVIAR_DATASET_CACHE_DIR": str(logs / "datasets"), "CAVIAR_LOG_LEVEL": log_level}
        env |= extra_env or {}
        for name in ("CAVIAR_DATABASE_URL", "CAVIAR_REDIS_URL"):
            env.pop(name, None)
        port = free_loopback_port()
        api = _start(["api", "--port", str(port)], env, logs / f"caviar-{backend}-api.log")
        processes = [api] + [
            _start(["worker"], env, logs / f"caviar-{backend}-worker-{index}.log") for index in range(workers)
        ]
        try:
            api_url = f"http://127.0.0.1:{port}"
            wait_healthy(api_url)
            queue = trial_queues(redis_url, QUEUE_NAME).for_objective(objective)
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while Worker.count(queue=queue) < workers:
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise RuntimeError(f"the workers did not start; see {logs}")
                time.sleep(0.1)
            time.sleep(1.0)  # their first heartbeat tells the API which objectives they run
            yield CaviarStack(api_url, database_url, redis_url, processes)
        finally:
            _stop(processes)
            get_engine(database_url).dispose()


def _start(arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *arguments],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
