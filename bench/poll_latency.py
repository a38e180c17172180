"""How fast the API answers polls while the workers write as fast as they can (issue 14's goal 4: p99
under 20 ms, on SQLite and on PostgreSQL).

Starts `caviar up` on a temporary SQLite file (or, with `--backend postgresql`, a scratch database on
`CAVIAR_BENCH_POSTGRES_URL`, default postgresql://postgres@127.0.0.1:5432/test) and the embedded Redis,
submits a search of zero-cost
`quadratic` trials (so the workers do nothing but claim, record and ask for more), and polls
`GET /searches/{id}/trials?sort=-loss&limit=20` and `GET /searches/{id}` back to back for `--seconds`.
Prints the latency percentiles and how many trials the workers finished meanwhile: a poll that
waited for a worker's write shows in both.

    .venv/bin/python bench/poll_latency.py [--seconds 20] [--workers 2] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import embedded_stack, scratch_database  # noqa: E402
from bench.zero_cost import zero_cost_spec  # noqa: E402


def _percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[round(share * (len(sorted_values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    # The search must outlast the run: at ~2,000 trials/s on SQLite the default cap (10,000) ends it in
    # seconds, and the polls after that share the machine with no one.
    os.environ.setdefault("CAVIAR_MAX_TRIALS_PER_SEARCH", "1000000")
    postgres_url = os.environ.get("CAVIAR_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with (
        scratch_database(args.backend, f"caviar_poll_{os.getpid()}_bench", postgres_url) as database_url,
        embedded_stack("poll", args.workers, database_url) as base_url,
    ):
        latencies, completed = _poll(base_url, args.seconds)

    if not latencies:
        raise SystemExit("no poll finished: is the machine overloaded?")
    latencies.sort()
    ms = [1000 * value for value in latencies]
    print(
        f"{args.backend}: {len(ms)} polls in {args.seconds:g} s with {args.workers} workers busy; "
        f"{completed} trials finished meanwhile"
    )
    print(
        f"latency ms: p50 {_percentile(ms, 0.5):.1f}  p90 {_percentile(ms, 0.9):.1f}  "
        f"p99 {_percentile(ms, 0.99):.1f}  max {ms[-1]:.1f}  (goal: p99 < 20; the issue's: SQLite 110-128)"
    )


def _poll(api_url: str, seconds: float) -> tuple[list[float], int]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the stack did not come up within 60 s")
            time.sleep(0.2)
        created = client.post("/searches", json=zero_cost_spec("poll latency", 1_000_000, max_parallel=16))
        created.raise_for_status()
        search_id = created.json()["id"]
        latencies: list[float] = []
        stop_at = time.monotonic() + seconds
        while time.monotonic() < stop_at:
            for path, params in (
                (f"/searches/{search_id}/trials", {"sort": "-loss", "limit": 20}),
                (f"/searches/{search_id}", {}),
            ):
                started = time.perf_counter()
                client.get(path, params=params).raise_for_status()
                latencies.append(time.perf_counter() - started)
        completed: int = client.get(f"/searches/{search_id}").json()["counts"]["completed"]
        client.post(f"/searches/{search_id}/cancel", json={})
    return latencies, completed


if __name__ == "__main__":
    main()
