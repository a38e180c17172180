"""Gaps between trials (issue 14, goal 2): makespan overhead and dispatch gaps, Caviar against Optuna.

Trials that sleep 0.25 s (80 of them) and 1 s (20), on 2 worker processes: the ideal makespan is 10 s
each. Caviar: `caviar api` and 2 `caviar worker`s on PostgreSQL + Redis, the search submitted over HTTP,
its objective a `sleep` plugin (bench/caviar_stack.py). Optuna: 2 processes on RDBStorage (PostgreSQL)
and on JournalStorage (Redis). Both objectives note their calls' start and end; the dispatch gap is the
time from one call's end to the next call's start in the same process, the makespan runs from the
submission (Optuna: the "go") to the last call's end. Goals: overhead at most 2% at 0.25 s, gap p99 under
20 ms.

    .venv/bin/python bench/dispatch_gap.py [--seconds 0.25,1] [--systems caviar,rdb,journal]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caviar_stack import caviar_stack, sleep_plugin  # noqa: E402
from bench.optuna_peer import run_optuna  # noqa: E402
from bench.stack import scratch_database  # noqa: E402

IDEAL_SECONDS = 10.0
LABELS = {
    "caviar": "Caviar (PostgreSQL + Redis)",
    "rdb": "Optuna RDBStorage (PostgreSQL)",
    "journal": "Optuna JournalStorage (Redis)",
}


@dataclass(frozen=True)
class GapRun:
    system: str
    seconds: float
    trials: int
    makespan: float
    gaps: list[float]
    load: float
    busy: float
    """The busiest process's time inside the objective: the ideal makespan as this machine ran it (a
    loaded machine wakes a sleeping objective late, and that lateness is not the platform's)."""

    @property
    def overhead(self) -> float:
        ideal = self.trials * self.seconds / 2
        return self.makespan / ideal - 1

    @property
    def platform_overhead(self) -> float:
        return self.makespan / self.busy - 1

    def gap_ms(self, quantile: float) -> float:
        ordered = sorted(self.gaps)
        return 1000 * ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


def gaps_of(calls: list[list[tuple[float, float]]]) -> list[float]:
    gaps = []
    for process_calls in calls:
        ordered = sorted(process_calls)
        gaps += [after[0] - before[1] for before, after in zip(ordered, ordered[1:], strict=False)]
    return gaps


def busiest(calls: list[list[tuple[float, float]]]) -> float:
    return max(sum(end - start for start, end in process_calls) for process_calls in calls)


def sleep_spec(seconds: float, trials: int) -> dict[str, object]:
    return {
        "name": f"gap-{seconds}",
        "objective": "sleep",
        "metric": "loss",
        "direction": "minimize",
        "space": {"seconds": seconds, "x": {"type": "float", "low": 0.0, "high": 1.0}},
        "strategy": {"kind": "random"},
        "budget": {"max_trials": trials, "max_parallel": 16},
        "seed": 1,
    }


def run_caviar(seconds: float, trials: int, args: argparse.Namespace, logs: Path) -> GapRun:
    load = os.getloadavg()[0]
    times = logs / f"times-{seconds}"
    times.mkdir()
    inherited = os.environ.get("PYTHONPATH")
    path = os.pathsep.join([str(sleep_plugin(logs)), *([inherited] if inherited else [])])
    extra = {"PYTHONPATH": path, "CAVIAR_BENCH_TIMES": str(times)}
    with caviar_stack(
        "postgresql",
        workers=2,
        postgres_url=args.postgres_url,
        redis_url=args.redis_url,
        logs=logs,
        objective="sleep",
        extra_env=extra,
    ) as stack:
        # Warm, as Optuna's processes are once their study is loaded: the API's first search and the
        # workers' first trials import and compile what the measured run then finds ready.
        stack.wait(stack.submit(sleep_spec(0.0, 4)))
        for path in times.glob("*.txt"):
            path.unlink()
        submitted = time.time()
        search_id = stack.submit(sleep_spec(seconds, trials))
        answered = time.time()
        search = stack.wait(search_id)
    if search["state"] != "completed":
        raise RuntimeError(f"the sleep search ended {search['state']}; see {logs}")
    calls: list[list[tuple[float, float]]] = [
        [(float(line.split()[0]), float(line.split()[1])) for line in path.read_text().splitlines()]
        for path in times.glob("*.txt")
    ]
    ends = [end for process_calls in calls for _, end in process_calls]
    first = min(start for process_calls in calls for start, _ in process_calls)
    print(
        f"caviar {seconds:g} s: POST /searches answered in {answered - submitted:.3f} s, the first "
        f"trial started {first - submitted:.3f} s after the submission; "
        f"first start to last end {max(ends) - first:.3f} s; per worker {[len(c) for c in calls]}",
        file=sys.stderr,
    )
    makespan = max(ends) - submitted
    return GapRun("caviar", seconds, len(ends), makespan, gaps_of(calls), load, busiest(calls))


def run_peer(system: str, seconds: float, trials: int, args: argparse.Namespace, logs: Path) -> GapRun:
    load = os.getloadavg()[0]
    if system == "journal":
        Redis.from_url(args.redis_url).flushdb()
        run = run_optuna(
            "journal-redis",
            args.redis_url,
            trials=trials,
            processes=2,
            sleep_seconds=seconds,
            log_level="INFO",
            logs=logs,
        )
        Redis.from_url(args.redis_url).flushdb()
    else:
        with scratch_database("postgresql", "optuna_bench", args.postgres_url) as url:
            run = run_optuna(
                "rdb", url, trials=trials, processes=2, sleep_seconds=seconds, log_level="INFO", logs=logs
            )
    ends = [end for process_calls in run.calls for _, end in process_calls]
    return GapRun(
        system, seconds, len(ends), max(ends) - run.go, gaps_of(run.calls), load, busiest(run.calls)
    )


def table(runs: list[GapRun]) -> str:
    lines = [
        "| trial | system | trials | makespan s (ideal 10) | overhead (goal ≤ 2%) | beyond the objective's "
        "own time | gap p50 ms | gap p99 ms (goal < 20) | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.seconds:g} s | {LABELS[run.system]} | {run.trials} | {run.makespan:.2f} "
            f"| {100 * run.overhead:.1f}% | {100 * run.platform_overhead:.1f}% "
            f"| {run.gap_ms(0.5):.1f} | {run.gap_ms(0.99):.1f} | {run.load:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", default="0.25,1", help="trial durations, each run for a 10 s ideal makespan"
    )
    parser.add_argument("--systems", default="caviar,rdb,journal")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--keep-logs", type=Path, help="write the processes' logs here and keep them")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="caviar-gap-") as directory:
        for seconds in (float(value) for value in args.seconds.split(",")):
            trials = round(2 * IDEAL_SECONDS / seconds)
            for system in args.systems.split(","):
                logs = (args.keep_logs or Path(directory)) / f"{system}-{seconds}"
                logs.mkdir(parents=True)
                run = (
                    run_caviar(seconds, trials, args, logs)
                    if system == "caviar"
                    else run_peer(system, seconds, trials, args, logs)
                )
                print(
                    f"{LABELS[system]}, {seconds:g} s trials: overhead {100 * run.overhead:.1f}%",
                    file=sys.stderr,
                )
                runs.append(run)
    print(
        f"Goal 2, gaps between trials: 2 processes per system, load average "
        f"{min(r.load for r in runs):.1f}–{max(r.load for r in runs):.1f}.\n"
    )
    print(table(runs))


if __name__ == "__main__":
    main()
