"""Where a read request's time goes: CPU, database statements and thread hops per request, in process.

The latency goals of issue 14 (p99 under 20 ms for polls, bench/poll_latency.py, and for the reads of
bench/large_search_reads.py) are measured on a shared 2-core machine, where a request's wall time is
mostly other processes' time. What a request costs the API itself does not depend on that load: this
script measures it. It loads a search of `--trials` trials (a few queued and running, two live workers
that run its objective, so `waiting` is computed as in a poll) into a scratch database, then sends each
read `--requests` times straight into the ASGI app (no sockets) and reports, per request:

- CPU ms with FastAPI's thread pool as in production (`time.process_time`, every thread; the least of
  5 rounds, as other processes only ever add to it);
- CPU ms with every thread-pool call run inline on the event loop (the request's own work, without the
  cost of handing work to threads and back), and how many such hand-offs ("hops") it made;
- database statements (`before_cursor_execute`; SQLite's `BEGIN` included).

`--profile` adds a cProfile of the inline runs: own time by package, and the costliest functions.
`--server` instead starts `caviar api` and reads the CPU the whole process spent (uvicorn, logging
included: `--log-level INFO` is the default's, the benchmarks run WARNING).

    .venv/bin/python bench/read_profile.py [--backend sqlite|postgresql] [--requests 500] [--trials 2000]
        [--keys] [--profile] [--server [--log-level INFO]]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
import httpx
import numpy as np
from sqlalchemy import delete, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.api.main import create_app  # noqa: E402
from app.domain.api_keys import Scope  # noqa: E402
from app.embedded_redis import free_loopback_port  # noqa: E402
from app.services.api_keys import create_key  # noqa: E402
from app.services.searches import create_search  # noqa: E402
from app.services.spec_model import SearchSpec  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.storage.db import get_engine, session_scope, statements_sent  # noqa: E402
from app.storage.migrate import upgrade  # noqa: E402
from app.storage.models import Trial, Worker, utcnow  # noqa: E402
from app.storage.repositories.search_stats import SearchStatsRepository  # noqa: E402
from bench.large_search_reads import process  # noqa: E402
from bench.stack import scratch_database, wait_healthy  # noqa: E402
from bench.zero_cost import PARAMS, zero_cost_spec  # noqa: E402

POSTGRES_URL = os.environ.get("CAVIAR_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LEASE_SECONDS = 3600.0
"""The app's lease: the two workers registered at load time stay alive for the whole run."""
ROUNDS = 5
PACKAGES = ("sqlalchemy", "psycopg", "fastapi", "starlette", "pydantic", "anyio", "asyncio", "app")


@dataclass(frozen=True)
class Read:
    label: str
    path: str
    query: str = ""
    expect: int = 200
    conditional: bool = False
    """Send the ETag of a first answer as If-None-Match (a poll of an unchanged search)."""
    pages_in: int = 0
    """Read the page this many pages in, with the `next_cursor` the pages before it answered."""


def reads(search_id: int) -> list[Read]:
    return [
        Read("GET /searches/{id}", f"/searches/{search_id}"),
        Read("  the same, 304", f"/searches/{search_id}", expect=304, conditional=True),
        Read(
            "GET /searches/{id}/trials?sort=-loss&limit=20",
            f"/searches/{search_id}/trials",
            "sort=-loss&limit=20",
        ),
        Read("  the same, 100 a page", f"/searches/{search_id}/trials", "sort=-loss"),
        Read("  the same, 100 a page, 10th page", f"/searches/{search_id}/trials", "sort=-loss", pages_in=9),
        Read("GET /searches/{id}/best?k=5", f"/searches/{search_id}/best", "k=5"),
        Read("GET /trials?sort=-loss&objective=quadratic", "/trials", "sort=-loss&objective=quadratic"),
        Read("  the same, 10th page", "/trials", "sort=-loss&objective=quadratic", pages_in=9),
        Read("GET /metrics", "/metrics"),
    ]


def load(database_url: str, n_trials: int) -> int:
    """A running search of `n_trials` quadratic trials (all but 10 completed, 8 queued, 2 running) and two
    live workers that run its objective; returns its id."""
    upgrade(database_url)
    settings = Settings(database_url=database_url, redis_url=None, max_trials_per_search=n_trials)
    spec = SearchSpec.model_validate(zero_cost_spec("read profile", n_trials, max_parallel=16))
    rng = np.random.default_rng(0)
    now = utcnow()
    with session_scope(database_url) as session:
        search, _ = create_search(session, spec, settings)
        session.execute(delete(Trial).where(Trial.search_id == search.id))
        rows: list[dict[str, Any]] = []
        for number in range(n_trials):
            point = rng.uniform(0.0, 1.0, len(PARAMS))
            loss = float(((point - 0.5) ** 2).sum())
            state = (
                "queued" if number >= n_trials - 8 else "running" if number >= n_trials - 10 else "completed"
            )
            done = state == "completed"
            rows.append(
                {
                    "search_id": search.id,
                    "number": number,
                    "params": dict(zip(PARAMS, map(float, point), strict=True)),
                    "seed": number,
                    "state": state,
                    "attempt": 0 if state == "queued" else 1,
                    "worker_id": None if state == "queued" else "bench-worker-0",
                    "value": loss if done else None,
                    "metrics": {"loss": loss} if done else None,
                    "metric_value": loss if done else None,
                    "created_at": now,
                    "started_at": None if state == "queued" else now,
                    "finished_at": now if done else None,
                    "updated_at": now,
                }
            )
        session.execute(insert(Trial), rows)
        SearchStatsRepository(session).rebuild(search.id)
        for index in range(2):
            session.add(
                Worker(
                    id=f"bench-worker-{index}",
                    host="bench",
                    pid=index,
                    state="busy",
                    objectives=["quadratic"],
                    started_at=now,
                    heartbeat_at=now,
                )
            )
        return search.id


def read_key(database_url: str) -> str:
    with session_scope(database_url) as session:
        _, token = create_key(session, "bench-reader", Scope.READ)
    return token


@contextmanager
def hops_counted(*, inline: bool) -> Iterator[Counter[str]]:
    """Counts thread-pool hand-offs (anyio.to_thread.run_sync, which Starlette and FastAPI call for sync
    routes and dependencies); `inline` runs them on the event loop, so one thread's profile sees all."""
    counted: Counter[str] = Counter()
    real = anyio.to_thread.run_sync

    async def run_sync(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        counted["hops"] += 1
        if inline:
            return function(*args)
        return await real(function, *args, **kwargs)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    try:
        yield counted
    finally:
        anyio.to_thread.run_sync = real


async def asgi_get(
    app: Any, path: str, query: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    started: dict[str, Any] = {}
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return started["status"], dict(started.get("headers", [])), b"".join(body)


def next_page_query(read: Read, status: int, body: bytes) -> str:
    """`read.query` with the cursor of the page after the answer `body`."""
    cursor = json.loads(body)["next_cursor"] if status == 200 else None
    if cursor is None:
        raise SystemExit(f"{read.path}?{read.query}: {status}, no page {read.pages_in + 1}")
    return f"{read.query}&{urlencode({'cursor': cursor})}"


async def later_page_query(app: Any, read: Read, headers: list[tuple[bytes, bytes]]) -> str:
    """`read.query` with the cursor of its page `read.pages_in` pages in."""
    query = read.query
    for _ in range(read.pages_in):
        status, _, body = await asgi_get(app, read.path, query, headers)
        query = next_page_query(read, status, body)
    return query


@dataclass(frozen=True)
class Measured:
    cpu_ms: float
    wall_ms: float
    hops: float
    statements: float
    kinds: str


def measure(
    app: Any,
    database_url: str,
    read: Read,
    auth: list[tuple[bytes, bytes]],
    requests: int,
    *,
    inline: bool,
    profile: cProfile.Profile | None = None,
) -> Measured:
    async def run() -> Measured:
        headers = list(auth)
        query = await later_page_query(app, read, headers)
        if read.conditional:
            _, first, _ = await asgi_get(app, read.path, query, headers)
            headers.append((b"if-none-match", first[b"etag"]))

        async def one() -> None:
            status, _, _ = await asgi_get(app, read.path, query, headers)
            if status != read.expect:
                raise SystemExit(f"{read.path}?{query}: {status}, expected {read.expect}")

        for _ in range(20):  # warm caches: compiled statements, pools, pydantic
            await one()
        # The CPU of the best of ROUNDS rounds: other processes on a shared machine only ever add to a
        # round's CPU time (caches, frequency), so the least is the nearest to the request's own cost.
        rounds = [requests // ROUNDS] * ROUNDS
        cpu_per_round: list[float] = []
        with statements_sent(database_url) as sent, hops_counted(inline=inline) as hops:
            wall = time.perf_counter()
            for count in rounds:
                cpu = time.process_time()
                if profile is not None:
                    profile.enable()
                for _ in range(count):
                    await one()
                if profile is not None:
                    profile.disable()
                cpu_per_round.append((time.process_time() - cpu) / count)
            wall = time.perf_counter() - wall
        done = sum(rounds)
        statements = Counter(statement.split(None, 1)[0].upper() for statement in sent)
        kinds = ", ".join(f"{kind} {count / done:g}" for kind, count in sorted(statements.items()))
        return Measured(
            1000 * min(cpu_per_round),
            1000 * wall / done,
            hops["hops"] / done,
            sum(statements.values()) / done,
            kinds,
        )

    return asyncio.run(run())


def by_package(profile: cProfile.Profile, requests: int) -> str:
    """Own time (tottime) per request summed by package: where the CPU goes, without double counting."""
    stats = pstats.Stats(profile)
    totals: Counter[str] = Counter()
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        parts = Path(filename).parts
        package = next((part for part in parts if part in PACKAGES), None)
        if package is None and filename.startswith("~"):
            package = "builtins (C: sqlite3, json, hashlib…)"
        totals[package or "other Python"] += own
    all_time = sum(totals.values())
    lines = [
        f"    {name:<40} {1000 * seconds / requests:6.3f} ms  {100 * seconds / all_time:4.0f}%"
        for name, seconds in totals.most_common()
    ]
    return "\n".join(lines)


def in_process(args: argparse.Namespace, database_url: str, search_id: int) -> None:
    settings = Settings(
        database_url=database_url,
        redis_url=None,
        lease_seconds=LEASE_SECONDS,
        auth="required" if args.keys else "off",
    )
    app = create_app(settings)
    auth = [(b"authorization", f"Bearer {read_key(database_url)}".encode())] if args.keys else []
    print(
        f"{args.backend}, {args.trials:,} trials, keys {'required' if args.keys else 'off'}, "
        f"{args.requests} requests each; per request:"
    )
    print(f"{'read':<48} {'CPU ms':>7} {'inline':>7} {'hops':>5} {'stmts':>6}  statements")
    for read in reads(search_id):
        if args.only and args.only not in read.label:
            continue
        threaded = measure(app, database_url, read, auth, args.requests, inline=False)
        # CPU time, not wall time: waits for the database are not the API's cost (inline: one thread).
        profile = cProfile.Profile(time.thread_time) if args.profile else None
        inline = measure(app, database_url, read, auth, args.requests, inline=True, profile=profile)
        print(
            f"{read.label:<48} {threaded.cpu_ms:7.2f} {inline.cpu_ms:7.2f} {threaded.hops:5.1f} "
            f"{inline.statements:6.1f}  {inline.kinds}",
            flush=True,
        )
        if profile is not None:
            print(by_package(profile, args.requests))
            stats = pstats.Stats(profile).sort_stats(args.sort)
            stats.print_stats(args.filter or "", args.top) if args.filter else stats.print_stats(args.top)


def server(args: argparse.Namespace, database_url: str, search_id: int) -> None:
    """The whole `caviar api` process's CPU (utime + stime) per request, sent one at a time with httpx."""
    port = free_loopback_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CAVIAR_LOG_LEVEL": args.log_level,
        "CAVIAR_LEASE_SECONDS": str(LEASE_SECONDS),
        "CAVIAR_AUTH": "required" if args.keys else "off",
    }
    for name in ("REDIS_URL", "CAVIAR_REDIS_URL", "CAVIAR_DATABASE_URL"):
        env.pop(name, None)
    headers = {"Authorization": f"Bearer {read_key(database_url)}"} if args.keys else {}
    base = f"http://127.0.0.1:{port}"
    print(
        f"{args.backend}, caviar api, log level {args.log_level}, {args.requests} requests each; per request:"
    )
    with (
        process(["api", "--port", str(port)], env) as api,
        httpx.Client(base_url=base, headers=headers) as client,
    ):
        wait_healthy(base)
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_seconds() -> float:
            fields = Path(f"/proc/{api.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        for read in reads(search_id):
            query = read.query
            for _ in range(read.pages_in):
                page = client.get(read.path, params=query)
                query = next_page_query(read, page.status_code, page.content)
            extra = {}
            if read.conditional:
                extra["If-None-Match"] = client.get(read.path, params=query).headers["etag"]
            for _ in range(20):
                client.get(read.path, params=query, headers=extra)
            before, wall = cpu_seconds(), time.perf_counter()
            for _ in range(args.requests):
                response = client.get(read.path, params=query, headers=extra)
                if response.status_code != read.expect:
                    raise SystemExit(f"{read.path}: {response.status_code} {response.text[:200]}")
            cpu, wall = cpu_seconds() - before, time.perf_counter() - wall
            print(
                f"{read.label:<48} API CPU {1000 * cpu / args.requests:6.2f} ms   "
                f"wall {1000 * wall / args.requests:6.2f} ms",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--keys", action="store_true", help="require API keys (a read key is sent)")
    parser.add_argument("--profile", action="store_true", help="cProfile the inline runs")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile")
    parser.add_argument("--sort", default="cumulative", help="order of the listed functions (pstats keys)")
    parser.add_argument("--only", help="only the reads whose label contains this")
    parser.add_argument("--filter", help="list only functions whose file matches this regular expression")
    parser.add_argument("--server", action="store_true", help="measure a real `caviar api` process instead")
    parser.add_argument("--log-level", default="INFO", help="the API's log level with --server")
    args = parser.parse_args()
    with scratch_database(
        args.backend, f"caviar_readprofile_{os.getpid()}_bench", POSTGRES_URL
    ) as database_url:
        search_id = load(database_url, args.trials)
        (server if args.server else in_process)(args, database_url, search_id)
        get_engine(database_url).dispose()


if __name__ == "__main__":
    main()
