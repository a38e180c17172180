"""Optuna, the peer of the service benchmarks: `processes` processes sharing one study, each calling
`study.optimize` with its RandomSampler, on one of three storages:

- `rdb`: RDBStorage on the same PostgreSQL server or SQLite file kind as Caviar's run;
- `journal-redis`: JournalStorage with its Redis backend (against Caviar on PostgreSQL + Redis);
- `journal-file`: JournalStorage with its file backend (against Caviar on SQLite).

Each process says "ready" once its study is loaded and starts when told "go", so none runs alone while
another still imports; it prints its window and its objective calls' (start, end), as JSON.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

from bench.zero_cost import PARAMS

REPO = Path(__file__).resolve().parent.parent
STUDY = "bench"
RUN_TIMEOUT_SECONDS = 1800.0


def storage(kind: str, url: str) -> BaseStorage:
    """`url`: an SQLAlchemy URL (rdb), a file path (journal-file) or a Redis URL (journal-redis)."""
    if kind == "rdb":
        return RDBStorage(url)
    if kind == "journal-file":
        return JournalStorage(JournalFileBackend(url))
    if kind == "journal-redis":
        return JournalStorage(JournalRedisBackend(url))
    raise ValueError(f"unknown Optuna storage {kind!r}")


@dataclass(frozen=True)
class OptunaRun:
    trials: int
    go: float
    """When the processes were told to start (wall clock)."""
    span_seconds: float
    """First objective call's start to the last one's end."""
    window_seconds: float
    """From "go" to the last process's return."""
    calls: list[list[tuple[float, float]]]
    """Per process, its objective calls' (start, end), wall clock."""


def run_optuna(
    kind: str, url: str, *, trials: int, processes: int, sleep_seconds: float, log_level: str, logs: Path
) -> OptunaRun:
    """`trials` trials of a fresh study split between `processes` processes."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # this process only; the workers keep `log_level`
    optuna.create_study(study_name=STUDY, storage=storage(kind, url), direction="minimize")
    shares = [trials // processes + (index < trials % processes) for index in range(processes)]
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.optuna_peer", kind, url, str(share), str(index), str(sleep_seconds)]
            + [log_level],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(logs / f"optuna-{kind}-{index}.log").open("wb"),
        )
        for index, share in enumerate(shares)
    ]
    for process in started:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"an Optuna process did not start; see {logs}")
    go = time.time()
    for process in started:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=RUN_TIMEOUT_SECONDS)[0] for process in started]
    if any(process.returncode != 0 for process in started):
        raise RuntimeError(f"an Optuna process failed; see {logs}")
    reports: list[dict[str, Any]] = [json.loads(output) for output in outputs]
    calls = [[(start, end) for start, end in report["calls"]] for report in reports]
    every = [call for process_calls in calls for call in process_calls]
    return OptunaRun(
        trials=len(every),
        go=go,
        span_seconds=max(end for _, end in every) - min(start for start, _ in every),
        window_seconds=max(report["ended"] for report in reports) - go,
        calls=calls,
    )


def _process(kind: str, url: str, trials: int, seed: int, sleep_seconds: float, log_level: str) -> None:
    optuna.logging.set_verbosity(logging.getLevelNamesMapping()[log_level.upper()])
    study = optuna.load_study(
        study_name=STUDY, storage=storage(kind, url), sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    calls: list[tuple[float, float]] = []

    def objective(trial: optuna.Trial) -> float:
        started = time.time()
        if sleep_seconds > 0:
            time.sleep(sleep_seconds)
        value = sum((trial.suggest_float(name, 0.0, 1.0) - 0.5) ** 2 for name in PARAMS)
        calls.append((started, time.time()))
        return value

    print("ready", flush=True)
    sys.stdin.readline()
    # n_trials splits the total between the processes: the plainest way to stop at N trials
    # (`MaxTrialsCallback` would also list the study's trials after every trial).
    study.optimize(objective, n_trials=trials)
    print(json.dumps({"ended": time.time(), "calls": calls}))


if __name__ == "__main__":
    kind, url, trials, seed, sleep_seconds, log_level = sys.argv[1:7]
    _process(kind, url, int(trials), int(seed), float(sleep_seconds), log_level)
