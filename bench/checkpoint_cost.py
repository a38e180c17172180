"""Checkpoint cost: bytes, time to take and restore one, and what storing it adds to an epoch report.

For the default `mlp` configuration on digits (64-64-64-10, Adam, float32) and one larger network. The
database part times `record_epoch` (the epoch report's transaction, as a worker runs it) with and without
the checkpoint, on a fresh migrated SQLite file and, if CAVIAR_BENCH_POSTGRES_URL names an empty migrated
database, on PostgreSQL.

    .venv/bin/python bench/checkpoint_cost.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from app.domain.catalog.mlp_config import TrainConfig
from app.services.trial_runs import ClaimedRun, claim_trial, record_epoch
from app.storage.db import session_scope
from app.storage.migrate import upgrade
from app.storage.models import Search, Trial, utcnow
from workers.datasets.builtin import load_builtin
from workers.nn.train import Trainer

CONFIGS = {"default (64-64)": TrainConfig(), "256-256": TrainConfig(hidden_units=256)}
METRICS = {"train_cost": 0.1, "dev_cost": 0.2, "dev_accuracy": 0.9}


def median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def claimed_run(database_url: str) -> ClaimedRun:
    """A search with one trial, claimed as a worker claims it."""
    now = utcnow()
    with session_scope(database_url) as session:
        search = Search(
            objective="mlp", dataset="digits", metric="dev_accuracy", direction="maximize", spec={},
            state="running", seed=0, strategy_state={}, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(search)
        session.flush()
        trial = Trial(
            search_id=search.id, number=0, params={}, seed=0, state="queued", created_at=now, updated_at=now
        )
        session.add(trial)
        session.flush()
        run = claim_trial(session, trial.id, "bench")
    assert run is not None
    return run


def report_ms(database_url: str, content: bytes | None, repeats: int) -> float:
    run = claimed_run(database_url)
    step = iter(range(1, 10**6))

    def report() -> None:
        with session_scope(database_url) as session:
            record_epoch(session, run, next(step), METRICS, {}, content)

    return median_ms(report, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    dataset = load_builtin("digits", {})
    databases = {}
    folder = Path(tempfile.mkdtemp())
    databases["SQLite"] = f"sqlite:///{folder / 'bench.db'}"
    upgrade(databases["SQLite"])
    if os.environ.get("CAVIAR_BENCH_POSTGRES_URL"):
        databases["PostgreSQL"] = os.environ["CAVIAR_BENCH_POSTGRES_URL"]
    print("| network | bytes | take (ms) | restore (ms) | " + " | ".join(
        f"{name} report without / with (ms)" for name in databases
    ) + " |")  # fmt: skip
    print("|---" * (4 + len(databases)) + "|")
    with threadpool_limits(1):
        for name, config in CONFIGS.items():
            trainer = Trainer(config, dataset, np.random.default_rng(0))
            trainer.run_one_epoch()
            content = trainer.checkpoint()
            take = median_ms(trainer.checkpoint, args.repeats)
            other = Trainer(config, dataset, np.random.default_rng(0))
            restore = median_ms(partial(other.restore, content), args.repeats)
            reports = [
                f"{report_ms(url, None, args.repeats):.2f} / {report_ms(url, content, args.repeats):.2f}"
                for url in databases.values()
            ]
            print(f"| {name} | {len(content):,} | {take:.2f} | {restore:.2f} | " + " | ".join(reports) + " |")


if __name__ == "__main__":
    main()
