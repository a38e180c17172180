"""How fast the dashboard draws the page of a 10,000-trial search, in a real headless Chromium.

Builds a temporary SQLite database holding one finished search of `--trials` trials (created through
the service, so its spec is real; its trials and 20-epoch learning curves written in bulk: completed,
pruned and failed, with values from a smooth function of the parameters), starts `caviar api` on it
(no workers, no Redis), then opens `/#/search/1` in Debian's chromium (`/usr/bin/chromium` through
`/usr/bin/chromedriver`) and times, from navigation start, the moment every plot and the trial table
are drawn (`document.body.dataset.rendered`). Cold: a fresh browser profile each run; warm: the same
profile again (plotly.js from the HTTP cache, its compiled code from V8's cache). Also prints the size
and latency of the bulk plot-data response the page reads.

    .venv/bin/python bench/dashboard.py [--trials 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import delete, insert, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.embedded_redis import free_loopback_port  # noqa: E402
from app.services.searches import create_search  # noqa: E402
from app.services.spec_model import SearchSpec  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.storage.db import session_scope  # noqa: E402
from app.storage.migrate import upgrade  # noqa: E402
from app.storage.models import Search, Trial, TrialMetric, utcnow  # noqa: E402
from bench.stack import wait_healthy  # noqa: E402
from tests.e2e.browser import chromium  # noqa: E402

EPOCHS = 20


def build_database(database_url: str, n_trials: int, seed: int = 0) -> None:
    """One completed search of `n_trials` trials with learning curves, written straight to the tables."""
    upgrade(database_url)
    spec = json.loads((ROOT / "examples" / "digits-random.json").read_text())
    spec["name"] = f"bench-{n_trials}-trials"
    spec["budget"] = {"max_trials": n_trials, "max_parallel": 8}
    settings = Settings(database_url=database_url, redis_url=None)
    rng = np.random.default_rng(seed)
    with session_scope(database_url) as session:
        search, _ = create_search(session, SearchSpec.model_validate(spec), settings)
        search_id = search.id
        session.execute(delete(Trial).where(Trial.search_id == search_id))
        now = utcnow()
        learning_rate = 10 ** rng.uniform(-4, -1, n_trials)
        beta1 = 1 - 10 ** rng.uniform(-2, math.log10(0.2), n_trials)
        hidden = np.round(10 ** rng.uniform(math.log10(16), math.log10(256), n_trials)).astype(int)
        layers = rng.integers(1, 4, n_trials)
        l2 = 10 ** rng.uniform(-5, -1, n_trials)
        quality = 0.97 - 0.08 * (np.log10(learning_rate) + 2.5) ** 2 - 0.02 * np.abs(np.log10(l2) + 3)
        states = rng.choice(["completed", "pruned", "failed"], n_trials, p=[0.6, 0.37, 0.03])
        trials = [
            {
                "search_id": search_id,
                "number": i,
                "round": None,
                "seed": int(rng.integers(2**31)),
                "params": {
                    "learning_rate": float(learning_rate[i]),
                    "beta1": float(beta1[i]),
                    "hidden_units": int(hidden[i]),
                    "n_layers": int(layers[i]),
                    "l2": float(l2[i]),
                    "optimizer": "adam",
                    "epochs": EPOCHS,
                    "batch_size": 64,
                },
                "state": str(states[i]),
                "attempt": 1,
                "worker_id": "bench",
                "value": None if states[i] == "failed" else float(np.clip(quality[i], 0.05, 0.995)),
                "metrics": None
                if states[i] == "failed"
                else {"dev_accuracy": float(np.clip(quality[i], 0.05, 0.995))},
                "metric_value": None if states[i] == "failed" else float(np.clip(quality[i], 0.05, 0.995)),
                "error": "RuntimeError: diverged" if states[i] == "failed" else None,
                "pruned_step": int(rng.integers(2, 10)) if states[i] == "pruned" else None,
                "created_at": now,
                "started_at": now,
                "finished_at": now,
                "updated_at": now,
            }
            for i in range(n_trials)
        ]
        session.execute(insert(Trial), trials)
        ids = session.scalars(
            Trial.__table__.select()
            .with_only_columns(Trial.id)
            .where(Trial.search_id == search_id)
            .order_by(Trial.number)
        ).all()
        points = []
        for i, trial_id in enumerate(ids):
            if states[i] == "failed":
                continue
            last = trials[i]["pruned_step"] or EPOCHS
            final = trials[i]["value"]
            for step in range(1, last + 1):
                points.append(
                    {
                        "trial_id": trial_id,
                        "step": step,
                        "name": "dev_accuracy",
                        "value": float(final * (1 - math.exp(-step / 3))),
                    }
                )
        for start in range(0, len(points), 20000):
            session.execute(insert(TrialMetric), points[start : start + 20000])
        session.execute(
            update(Search).where(Search.id == search_id).values(state="completed", finished_at=now)
        )


SCROLL_THROUGH = """
const done = arguments[arguments.length - 1];
const start = performance.now();
const plots = [...document.querySelectorAll("#plot-history, #plot-curves, #plot-parallel, #plot-slices")];
for (const plot of plots) plot.scrollIntoView();
const check = () => plots.every((p) => p.dataset.drawn)
  ? done(performance.now() - start) : setTimeout(check, 20);
check();
"""

DRAW_OFFERED = """
const done = arguments[arguments.length - 1];
const button = document.querySelector("#plot-parallel .plot-offer button");
if (!button) { done(null); return; }
const start = performance.now();
button.click();
const check = () => document.querySelector("#plot-parallel").dataset.offerTaken
  ? done(performance.now() - start) : setTimeout(check, 20);
check();
"""


def time_page(url: str, runs: int) -> dict[str, list[float]]:
    """Seconds to the first screen (plots on it and the data), and to draw the others after a scroll."""
    results: dict[str, list[float]] = {}
    for _ in range(runs):
        with chromium() as driver:
            driver.set_script_timeout(120)
            for label in ("cold", "warm"):
                driver.get("about:blank")
                driver.get(url)
                WebDriverWait(driver, 120).until(
                    lambda d: d.execute_script("return document.body.dataset.rendered")
                )
                timing: dict[str, Any] = driver.execute_script(
                    "return {marks: performance.getEntriesByType('mark').map(m => [m.name, m.startTime]),"
                    " dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd}"
                )
                marks = dict(timing["marks"])
                results.setdefault(f"{label}: first screen", []).append(marks["caviar:first-screen"] / 1000)
                results.setdefault(f"{label}: data fetched", []).append(marks["caviar:data"] / 1000)
                results.setdefault(f"{label}: history drawn", []).append(marks["caviar:history"] / 1000)
                scrolled_ms = driver.execute_async_script(SCROLL_THROUGH)
                results.setdefault(f"{label}: rest after scrolling", []).append(scrolled_ms / 1000)
                # With WebGL on the CPU, parallel coordinates wait for a click (a button in their place).
                offered_ms = driver.execute_async_script(DRAW_OFFERED)
                if offered_ms is not None:
                    results.setdefault(f"{label}: parallel, on click", []).append(offered_ms / 1000)
                if label == "warm":
                    results.setdefault("warm: scripts parsed", []).append(timing["dcl"] / 1000)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="caviar-dashboard-") as directory:
        database_url = f"sqlite:///{directory}/caviar.db"
        started = time.perf_counter()
        build_database(database_url, args.trials)
        print(f"built a {args.trials}-trial search in {time.perf_counter() - started:.1f} s")
        port = free_loopback_port()
        env = {**os.environ, "DATABASE_URL": database_url, "CAVIAR_LOG_LEVEL": "WARNING"}
        for name in ("REDIS_URL", "CAVIAR_REDIS_URL", "CAVIAR_DATABASE_URL"):
            env.pop(name, None)
        api = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "api", "--port", str(port)],
            env=env,
            cwd=directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base)
            latencies = []
            for _ in range(5):
                begin = time.perf_counter()
                response = httpx.get(f"{base}/dashboard/api/searches/1/plot-data", timeout=60)
                latencies.append(time.perf_counter() - begin)
            body = response.json()
            print(
                f"plot-data: {len(response.content) / 1e6:.2f} MB, {len(body['curves'])} of "
                f"{body['curves_total']} curves, median {1000 * statistics.median(latencies):.0f} ms"
            )
            results = time_page(f"{base}/#/search/1", args.runs)
        finally:
            api.send_signal(signal.SIGINT)
            api.wait(timeout=30)

    print(f"search page of {args.trials} trials, seconds from navigation start, median of {args.runs}:")
    for name, values in results.items():
        print(
            f"  {name:<28} {statistics.median(values):6.2f}   (min {min(values):.2f}, max {max(values):.2f})"
        )
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
