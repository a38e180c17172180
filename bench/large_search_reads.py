"""Reads of a search of 1,000,000 trials on PostgreSQL, and an idle worker's memory.

Creates a PostgreSQL database of its own (dropped at the end) and an `external` search (ask/tell: no
worker runs it) through the service, then replaces its trials with `--trials` finished ones written with
COPY (90% completed, 7% pruned, 3% failed; metrics `loss`, the search's metric, and `x_norm`), plus a
second search of 10,000 trials. Starts the real API process (`caviar api`) on it and times each read
with httpx: p50 and p99 over up to `--requests` requests (fewer when a request is slow: at most
`--seconds` per endpoint). Then the CSV export: rows/s, and the API process's extra memory while it
streams (VmRSS sampled every 20 ms, minus VmRSS before). Last, a `caviar worker` started against the
same database and Redis: its RSS once idle. Prints each figure beside its goal and the issue's figure
from before the work.

    .venv/bin/python bench/large_search_reads.py [--trials 1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import delete, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.api.pagination import encode_cursor  # noqa: E402
from app.embedded_redis import free_loopback_port  # noqa: E402
from app.services.searches import create_search  # noqa: E402
from app.services.spec_model import SearchSpec  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.storage.db import get_engine, session_scope  # noqa: E402
from app.storage.migrate import upgrade  # noqa: E402
from app.storage.models import Search, Trial, utcnow  # noqa: E402
from bench.stack import scratch_database, wait_healthy  # noqa: E402

POSTGRES_URL = os.environ.get("CAVIAR_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CAVIAR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
COLUMNS = (
    "search_id, number, round, params, seed, state, attempt, worker_id, value, metrics, error, "
    "pruned_step, created_at, started_at, finished_at, updated_at"
)


@dataclass(frozen=True)
class Goal:
    label: str
    goal: str
    before: str


def spec_of(name: str, n_trials: int) -> SearchSpec:
    return SearchSpec.model_validate(
        {
            "name": name,
            "objective": "external",
            "metric": "loss",
            "direction": "minimize",
            "space": {name: {"type": "float", "low": 0.0, "high": 1.0} for name in ("x0", "x1", "x2")},
            "strategy": {"kind": "random"},
            "budget": {"max_trials": n_trials, "max_parallel": 8},
            "seed": 1,
        }
    )


def load_search(database_url: str, name: str, n_trials: int, seed: int) -> int:
    """A finished search of `n_trials` trials: created by the service, its trials written with COPY."""
    settings = Settings(database_url=database_url, redis_url=None, max_trials_per_search=n_trials)
    with session_scope(database_url) as session:
        search, _ = create_search(session, spec_of(name, n_trials), settings)
        search_id = search.id
        session.execute(delete(Trial).where(Trial.search_id == search_id))
    has_metric_value = "metric_value" in Trial.__table__.columns
    columns = COLUMNS + (", metric_value" if has_metric_value else "")
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.0, 1.0, (n_trials, 3)).round(6)
    losses = ((points - 0.5) ** 2).sum(axis=1)
    norms = np.sqrt((points**2).sum(axis=1))
    states = rng.choice(["completed", "pruned", "failed"], n_trials, p=[0.9, 0.07, 0.03])
    durations = rng.lognormal(0.0, 1.0, n_trials)
    now = utcnow()
    raw = get_engine(database_url).raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY trials ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for i in range(n_trials):
                state = str(states[i])
                loss = float(losses[i])
                metrics = None if state == "failed" else {"loss": loss, "x_norm": float(norms[i])}
                params = {"x0": float(points[i, 0]), "x1": float(points[i, 1]), "x2": float(points[i, 2])}
                row: list[Any] = [
                    search_id,
                    i,
                    None,
                    json.dumps(params),
                    i,
                    state,
                    1,
                    "bench",
                    loss if state == "completed" else None,
                    None if metrics is None else json.dumps(metrics),
                    "RuntimeError: diverged" if state == "failed" else None,
                    3 if state == "pruned" else None,
                    now,
                    now,
                    now.fromtimestamp(now.timestamp() + float(durations[i]), tz=now.tzinfo),
                    now,
                ]
                if has_metric_value:
                    row.append(None if metrics is None else loss)
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    with session_scope(database_url) as session:
        session.execute(
            update(Search).where(Search.id == search_id).values(state="completed", finished_at=now)
        )
        rebuild_stats(session, search_id)
    return search_id


def rebuild_stats(session: Any, search_id: int) -> None:
    """A COPY bypasses the repositories: rebuild the search's maintained counters, where they exist."""
    try:
        from app.storage.repositories.search_stats import SearchStatsRepository
    except ImportError:
        return
    SearchStatsRepository(session).rebuild(search_id)


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield child
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def latencies(call: Callable[[], httpx.Response], expect: int, requests: int, seconds: float) -> list[float]:
    """Milliseconds of up to `requests` calls (at most `seconds` in all, at least 5), after 2 warm-ups."""
    for _ in range(2):
        call()
    timings: list[float] = []
    started = time.perf_counter()
    while len(timings) < requests and (len(timings) < 5 or time.perf_counter() - started < seconds):
        begin = time.perf_counter()
        response = call()
        timings.append(1000 * (time.perf_counter() - begin))
        if response.status_code != expect:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text[:200]}")
    return sorted(timings)


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def deep_cursor(database_url: str, search_id: int | None, sort: str, offset: int) -> str:
    """The cursor a client holds after paging `offset` rows by `sort` (a search's `loss`, descending)."""
    where = f"search_id = {search_id}" if search_id is not None else "TRUE"
    statement = text(
        f"SELECT (metrics->>'{sort}')::float AS key, id FROM trials WHERE {where} AND state <> 'failed' "
        f"ORDER BY key DESC, id OFFSET {offset} LIMIT 1"
    )
    with session_scope(database_url) as session:
        key, trial_id = session.execute(statement).one()
    return encode_cursor({"sort": f"-{sort}", "after": [key, trial_id]})


def export_csv(client: httpx.Client, url: str, api_pid: int) -> tuple[int, float, int]:
    """(rows, seconds, peak extra KiB of the API process's RSS) of one CSV download, streamed."""
    before = rss_kib(api_pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(api_pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rows = 0
    started = time.perf_counter()
    with client.stream("GET", url, timeout=600) as response:
        for chunk in response.iter_bytes():
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return rows - 1, seconds, peak - before


def idle_worker_rss(env: dict[str, str]) -> float:
    """MiB of RSS of a `caviar worker` 8 s after it started, with nothing to do."""
    with process(["worker"], env) as worker:
        time.sleep(8)
        if worker.poll() is not None:
            raise SystemExit("the worker exited")
        return rss_kib(worker.pid) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit per endpoint")
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument(
        "--only-csv", action="store_true", help="time the CSV export alone: no reads, no idle worker"
    )
    args = parser.parse_args()

    with scratch_database("postgresql", f"caviar_reads_{os.getpid()}_bench", POSTGRES_URL) as database_url:
        upgrade(database_url)
        started = time.perf_counter()
        search_id = load_search(database_url, "large", args.trials, seed=0)
        load_search(database_url, "small", 10_000, seed=1)
        with session_scope(database_url) as session:
            session.execute(text("ANALYZE trials"))
        print(f"loaded {args.trials:,} + 10,000 trials in {time.perf_counter() - started:.0f} s")
        later_search = deep_cursor(database_url, search_id, "loss", args.trials // 2)
        later_all = deep_cursor(database_url, None, "loss", args.trials // 2)

        port = free_loopback_port()
        env = {**os.environ, "DATABASE_URL": database_url, "CAVIAR_LOG_LEVEL": "WARNING"}
        for name in ("REDIS_URL", "CAVIAR_REDIS_URL", "CAVIAR_DATABASE_URL"):
            env.pop(name, None)
        base = f"http://127.0.0.1:{port}"
        results: list[tuple[Goal, str]] = []
        with (
            process(["api", "--port", str(port)], env) as api,
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            wait_healthy(base)
            etag = client.get(f"/searches/{search_id}").headers["etag"]
            reads: list[tuple[Goal, Callable[[], httpx.Response], int]] = [
                (
                    Goal(f"GET /searches/{search_id}", "p99 < 20 ms", "p50 351 ms"),
                    lambda: client.get(f"/searches/{search_id}"),
                    200,
                ),
                (
                    Goal("  the same, 304 (If-None-Match)", "p99 < 20 ms", "p50 261 ms"),
                    lambda: client.get(f"/searches/{search_id}", headers={"If-None-Match": etag}),
                    304,
                ),
                (
                    Goal("  best?k=5", "p99 < 20 ms", "p50 7 ms"),
                    lambda: client.get(f"/searches/{search_id}/best", params={"k": 5}),
                    200,
                ),
                (
                    Goal("  trials?sort=-loss, page 1", "p99 < 20 ms", "p50 1.4 s"),
                    lambda: client.get(f"/searches/{search_id}/trials", params={"sort": "-loss"}),
                    200,
                ),
                (
                    Goal("  trials?sort=-loss, a page at row 500k", "p99 < 20 ms", "p50 2.0 s (page 2)"),
                    lambda: client.get(
                        f"/searches/{search_id}/trials", params={"sort": "-loss", "cursor": later_search}
                    ),
                    200,
                ),
                (
                    Goal("GET /trials?sort=-loss&objective=external", "p99 < 20 ms", "p50 1.8 s"),
                    lambda: client.get("/trials", params={"sort": "-loss", "objective": "external"}),
                    200,
                ),
                (
                    Goal("  the same, a page at row 500k", "p99 < 20 ms", "-"),
                    lambda: client.get(
                        "/trials", params={"sort": "-loss", "objective": "external", "cursor": later_all}
                    ),
                    200,
                ),
                (Goal("GET /metrics", "p99 < 20 ms", "p50 3.6 s"), lambda: client.get("/metrics"), 200),
                (
                    Goal("  trials?sort=-x_norm (not the metric)", "correct; cost documented", "-"),
                    lambda: client.get(f"/searches/{search_id}/trials", params={"sort": "-x_norm"}),
                    200,
                ),
            ]
            for goal, call, expect in [] if args.only_csv else reads:
                timings = latencies(call, expect, args.requests, args.seconds)
                figure = (
                    f"p50 {percentile(timings, 0.5):8.1f} ms  p99 {percentile(timings, 0.99):8.1f} ms"
                    f"  (n={len(timings)})"
                )
                results.append((goal, figure))
                print(f"{goal.label:<46} {figure}", flush=True)
            if not args.skip_csv:
                rows, seconds, extra_kib = export_csv(client, f"/searches/{search_id}/trials.csv", api.pid)
                results.append(
                    (
                        Goal("CSV export, rows/s", ">= 50,000 rows/s", "~8,300 rows/s (2 min)"),
                        f"{rows / seconds:,.0f} rows/s ({rows:,} rows in {seconds:.1f} s)",
                    )
                )
                results.append(
                    (
                        Goal("CSV export, API extra RSS", "< 100 MB", "3.3 GB peak"),
                        f"{extra_kib / 1024:,.0f} MB",
                    )
                )
        if not args.only_csv:
            worker_env = {
                **env,
                "REDIS_URL": REDIS_URL,
                "CAVIAR_QUEUE_NAME": f"caviar-bench-reads-{os.getpid()}",
            }
            worker_rss = idle_worker_rss(worker_env)
            results.append((Goal("idle worker RSS", "< 120 MB", "-"), f"{worker_rss:,.0f} MB"))

    print(f"\n{args.trials:,} trials in one search, PostgreSQL; load average {os.getloadavg()[0]:.1f}")
    print("| read | measured | goal | issue 14 (before) |\n|---|---|---|---|")
    for goal, figure in results:
        print(f"| {goal.label.strip()} | {figure} | {goal.goal} | {goal.before} |")


if __name__ == "__main__":
    main()
