"""A chain's prefetch policy: how many trials to hold ahead, and when to keep the trials it made room for."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from workers.chain import Chain
from workers.runtime import WorkerRuntime


def runtime(tmp_path: Path, **settings: object) -> WorkerRuntime:
    return WorkerRuntime.from_settings(
        Settings(
            database_url=f"sqlite:///{tmp_path}/caviar.db",
            redis_url="redis://127.0.0.1:1/0",  # never connected to
            dataset_cache_dir=tmp_path / "datasets",
            **settings,
        )
    )


@pytest.mark.parametrize(
    ("last_seconds", "kept"),
    [(None, False), (0.0001, True), (0.1 / 16, True), (0.007, False), (0.25, False), (5.0, False)],
)
def test_a_chain_keeps_the_trials_its_results_made_room_for_only_when_trials_are_that_cheap(
    tmp_path: Path, last_seconds: float | None, kept: bool
) -> None:
    worker = runtime(tmp_path, worker_prefetch=16, prefetch_seconds=0.1)
    if last_seconds is not None:
        worker.trial_seconds[7] = last_seconds
    assert Chain.keeps_proposed(worker, 7) is kept


def test_a_chain_without_prefetch_never_keeps_them(tmp_path: Path) -> None:
    worker = runtime(tmp_path, worker_prefetch=0)
    worker.trial_seconds[7] = 0.0001
    assert Chain.keeps_proposed(worker, 7) is False
