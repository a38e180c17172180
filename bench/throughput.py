"""Service throughput (issue 14, goal 1): Caviar through its real path against Optuna's storages.

Caviar: `caviar api` and 2 `caviar worker` processes; the search is created over HTTP and followed over
HTTP until it is done. Optuna: 2 processes sharing one study (bench/optuna_peer.py). Both run a
zero-cost objective (Σ (x − 0.5)² over three uniform floats, random sampling; Caviar's built-in
`quadratic` also reports its one epoch), so what is measured is the platform. Pairs, as the issue asks:

- PostgreSQL: Caviar on PostgreSQL + Redis, Optuna JournalStorage on Redis, Optuna RDBStorage on PostgreSQL;
- SQLite: Caviar on SQLite + Redis, Optuna JournalStorage on a file, Optuna RDBStorage on SQLite.

Goals: Caviar at least the journal's rate, and at least 3× the RDB storage's. trials/s is completed
trials over the span from the first trial's start to the last one's end (Caviar: its trials table;
Optuna: the objective calls); "submit→done" adds Caviar's HTTP submission and the search's completion
as a poller sees it. Each system runs right after the others, so the ratios share the machine's load;
the load average is printed with them.

    .venv/bin/python bench/throughput.py [--trials 1000 | --quick] [--repeats 1] [--backends sqlite]
    .venv/bin/python bench/throughput.py --systems caviar --py-spy   # where a worker's time goes
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy
from redis import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caviar_stack import caviar_stack  # noqa: E402
from bench.optuna_peer import run_optuna  # noqa: E402
from bench.stack import scratch_database  # noqa: E402
from bench.worker_profile import breakdown, spy_on  # noqa: E402
from bench.zero_cost import zero_cost_spec  # noqa: E402

JOURNAL = {"postgresql": "journal-redis", "sqlite": "journal-file"}
LABELS = {"caviar": "Caviar", "journal": "Optuna JournalStorage", "rdb": "Optuna RDBStorage"}


@dataclass(frozen=True)
class Run:
    system: str  # caviar | journal | rdb
    backend: str
    trials: int
    span_seconds: float
    end_to_end_seconds: float
    load: float

    @property
    def per_second(self) -> float:
        return self.trials / self.span_seconds

    @property
    def end_to_end_per_second(self) -> float:
        return self.trials / self.end_to_end_seconds


def load_average() -> float:
    return os.getloadavg()[0]


def run_caviar(backend: str, args: argparse.Namespace, logs: Path) -> Run:
    load = load_average()
    with caviar_stack(
        backend,
        workers=args.workers,
        postgres_url=args.postgres_url,
        redis_url=args.redis_url,
        logs=logs,
        log_level=args.log_level,
    ) as stack:
        spies = []
        if args.py_spy:
            spies = [
                spy_on(p.pid, logs / f"py-spy-{backend}-{i}.txt") for i, p in enumerate(stack.processes[1:])
            ]
        submitted = time.monotonic()
        search_id = stack.submit(zero_cost_spec("throughput", args.trials, args.max_parallel))
        search = stack.wait(search_id)
        end_to_end = time.monotonic() - submitted
        span = stack.completed_span(search_id, search, args.trials)
    for spy in spies:
        spy.wait(timeout=60)
    if spies:
        print(breakdown(sorted(logs.glob(f"py-spy-{backend}-*.txt"))))
    return Run("caviar", backend, args.trials, span, end_to_end, load)


def run_peer(system: str, backend: str, args: argparse.Namespace, logs: Path) -> Run:
    load = load_average()
    kind = JOURNAL[backend] if system == "journal" else "rdb"
    with optuna_storage_url(kind, backend, args, logs) as url:
        run = run_optuna(
            kind,
            url,
            trials=args.trials,
            processes=args.workers,
            sleep_seconds=0.0,
            log_level=args.log_level,
            logs=logs,
        )
    return Run(system, backend, run.trials, run.span_seconds, run.window_seconds, load)


class optuna_storage_url:
    """A fresh, empty place for an Optuna study of `kind`, removed afterwards; enters to its URL."""

    def __init__(self, kind: str, backend: str, args: argparse.Namespace, logs: Path) -> None:
        self.kind, self.backend, self.args, self.logs = kind, backend, args, logs
        self._database = scratch_database(backend, "optuna_bench", args.postgres_url)

    def __enter__(self) -> str:
        if self.kind == "rdb":
            return self._database.__enter__()
        if self.kind == "journal-file":
            path = self.logs / "optuna-journal.log"
            path.unlink(missing_ok=True)
            return str(path)
        Redis.from_url(self.args.redis_url).flushdb()
        return str(self.args.redis_url)

    def __exit__(self, *exc: object) -> None:
        if self.kind == "rdb":
            self._database.__exit__(None, None, None)
        elif self.kind == "journal-redis":
            Redis.from_url(self.args.redis_url).flushdb()


SYSTEMS: dict[str, Callable[[str, argparse.Namespace, Path], Run]] = {
    "caviar": run_caviar,
    "journal": lambda backend, args, logs: run_peer("journal", backend, args, logs),
    "rdb": lambda backend, args, logs: run_peer("rdb", backend, args, logs),
}


def table(runs: list[Run]) -> str:
    def median(
        backend: str, system: str, rate: Callable[[Run], float] = lambda r: r.per_second
    ) -> float | None:
        rates = [rate(r) for r in runs if r.backend == backend and r.system == system]
        return statistics.median(rates) if rates else None

    def cell(value: float | None, unit: str = "") -> str:
        return "–" if value is None else f"{value:,.{2 if unit else 1}f}{unit}"

    def ratio(ours: float | None, theirs: float | None, goal: float) -> str:
        if ours is None or theirs is None:
            return "–"
        met = "met" if ours / theirs >= goal else "**not met**"
        return f"{ours / theirs:.2f}× ({met})"

    lines = [
        "| backend | Caviar trials/s (submit→done) | Optuna JournalStorage | Caviar / journal (goal ≥ 1×) "
        "| Optuna RDBStorage | Caviar / RDB (goal ≥ 3×) | load average |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in dict.fromkeys(run.backend for run in runs):
        ours, journal, rdb = (median(backend, system) for system in ("caviar", "journal", "rdb"))
        e2e = median(backend, "caviar", lambda r: r.end_to_end_per_second)
        loads = [r.load for r in runs if r.backend == backend]
        journal_name = f"{cell(journal)} ({JOURNAL[backend].removeprefix('journal-')})"
        lines.append(
            f"| {backend} | {cell(ours)} ({cell(e2e)}) | {journal_name} | {ratio(ours, journal, 1)} "
            f"| {cell(rdb)} | {ratio(ours, rdb, 3)} | {min(loads):.1f}–{max(loads):.1f} |"
        )
    return "\n".join(lines) + "\n"


def machine(args: argparse.Namespace) -> str:
    """One line on the hardware, the versions and the commit, for the benchmark's record."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("Model name")
        ),
        "unknown",
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    redis_version = Redis.from_url(args.redis_url).info("server")["redis_version"]
    return (
        f'Commit {commit.strip()}; {os.cpu_count()} cores, `lscpu` model name "{model}"; Optuna '
        f"{optuna.__version__}, SQLAlchemy {sqlalchemy.__version__}, Redis {redis_version}."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000, help="trials per run")
    parser.add_argument("--quick", action="store_true", help="200 trials per run")
    parser.add_argument("--repeats", type=int, default=1, help="runs per system and backend; medians shown")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per system")
    parser.add_argument("--max-parallel", type=int, default=16, help="Caviar's budget.max_parallel")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--systems", default="caviar,journal,rdb", help="which of caviar,journal,rdb to run")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--log-level", default="INFO", help="log level of every process (INFO: as shipped)")
    parser.add_argument("--py-spy", action="store_true", help="profile Caviar's workers (pip install py-spy)")
    parser.add_argument("--keep-logs", type=Path, help="write the processes' logs here and keep them")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials = 200
    backends = [name.strip() for name in args.backends.split(",")]
    systems = [name.strip() for name in args.systems.split(",")]
    with tempfile.TemporaryDirectory(prefix="caviar-throughput-") as directory:
        logs = args.keep_logs or Path(directory)
        logs.mkdir(parents=True, exist_ok=True)
        runs: list[Run] = []
        for _ in range(args.repeats):
            for backend in backends:
                for system in systems:
                    run = SYSTEMS[system](backend, args, logs)
                    print(f"{LABELS[system]} on {backend}: {run.per_second:.1f} trials/s", file=sys.stderr)
                    runs.append(run)
    print(f"Goal 1, throughput: {args.trials} trials per run, {args.workers} processes per system, ", end="")
    print(f"{args.repeats} run(s) each (medians). {machine(args)}\n")
    print(table(runs))


if __name__ == "__main__":
    main()
