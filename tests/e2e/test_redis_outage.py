"""Production layout, Redis down mid-search: the worker processes ride it out (no exit, no failed
trial, a few log lines rather than a traceback per second) and the search finishes once it is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.embedded_redis import EmbeddedRedis, free_loopback_port
from tests.e2e.conftest import Stack, wait_finished
from tests.integration.helpers import quick_spec

pytestmark = [
    pytest.mark.slow,
    # One database is enough: the outage is Redis's; the database plays no part.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

OUTAGE_SECONDS = 15.0


@pytest.fixture
def outage_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own (the shared one must not go down), on a fixed port so that the
    restarted server has the same URL."""
    redis = EmbeddedRedis(tmp_path / "redis", port=free_loopback_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def stack_extra_env(outage_redis: EmbeddedRedis) -> dict[str, str]:
    return {"REDIS_URL": outage_redis.url}


def test_workers_ride_out_a_redis_outage_and_the_search_finishes(
    stack: Stack, outage_redis: EmbeddedRedis
) -> None:
    spec = quick_spec(budget={"max_trials": 6, "max_parallel": 2})
    spec["space"].update(epochs=12, batch_size=16)
    search_id = httpx.post(f"{stack.api_url}/searches", json=spec).json()["id"]
    deadline = time.monotonic() + 60
    while not httpx.get(f"{stack.api_url}/searches/{search_id}").json()["counts"].get("running"):
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.1)

    outage_redis.stop()
    time.sleep(OUTAGE_SECONDS)
    assert all(worker.poll() is None for worker in stack.workers), f"a worker exited:\n{stack.logs()}"
    outage_redis.start()

    search = wait_finished(stack, search_id, timeout=240)
    assert search["state"] == "completed", stack.logs()
    assert search["counts"] == {"completed": 6} or (
        search["counts"].get("completed", 0) + search["counts"].get("pruned", 0) == 6
        and not search["counts"].get("failed")
    ), search["counts"]
    assert all(worker.poll() is None for worker in stack.workers), f"a worker exited:\n{stack.logs()}"
    for log in stack.log_dir.glob("worker-*.log"):
        text = log.read_text(errors="replace")
        # A line when Redis went, one when it is back, a few for what it interrupted; not one per
        # second for as long as it lasts (RQ's pubsub thread alone said so every 2 s).
        problems = [line for line in text.splitlines() if " ERROR " in line or " WARNING " in line]
        assert len(problems) <= 10, f"{log.name} floods its log during the outage:\n{text[-4000:]}"
