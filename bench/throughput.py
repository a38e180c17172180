"""Service throughput: Caviar's workers against Optuna's RDB storage, same trials, same process count.

Both sides run a zero-cost objective (Σ (x − 0.5)² over three uniform floats, random sampling), so what
is measured is the platform: claims, results, ask-tell and the queue. Caviar: the database is migrated,
`--workers` `caviar worker` processes are started (Redis: a dedicated database of the Redis at
`--redis-url`, flushed before and after, or the embedded redis-server if none answers), then a
`quadratic` search is submitted through the service layer. Optuna: `--workers` processes each run
`study.optimize` on one shared RDB study (RandomSampler) until `--trials` trials have completed in all.
Both keep their default logging (INFO) unless `--log-level` says otherwise, written to log files.

trials/s is completed trials over the span from the first trial's start to the last trial's end, as
the trials tables record them; "submit→done" adds, for Caviar, the submission and the search's
completion (for Optuna, from the first `optimize` call to the last process's return). PostgreSQL
runs use scratch databases `caviar_bench` and `optuna_bench`, dropped afterwards; SQLite runs use
temporary files.

    .venv/bin/python bench/throughput.py [--trials 1000 | --quick] [--repeats 3] [--backends sqlite]
    .venv/bin/python bench/throughput.py --systems caviar --py-spy   # where a worker's time goes

`--py-spy` samples the Caviar workers' main threads (`pip install py-spy`; it takes CPU from the
workers, so that run's trials/s are not the benchmark's) and prints the share of each part of a trial.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
import psycopg
import sqlalchemy
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.queue import enqueue_after_commit, trial_queues  # noqa: E402
from app.services.searches import create_search  # noqa: E402
from app.services.spec_model import SearchSpec  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.storage.db import get_engine, session_scope  # noqa: E402
from app.storage.migrate import upgrade  # noqa: E402
from app.storage.models import Search, Trial  # noqa: E402
from bench.stack import scratch_database  # noqa: E402
from bench.zero_cost import PARAMS, zero_cost_spec  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
QUEUE_NAME = "caviar-bench"
READY_TIMEOUT_SECONDS = 60.0
RUN_TIMEOUT_SECONDS = 1800.0


@dataclass(frozen=True)
class Run:
    system: str
    backend: str
    trials: int
    span_seconds: float
    end_to_end_seconds: float

    @property
    def per_second(self) -> float:
        return self.trials / self.span_seconds

    @property
    def end_to_end_per_second(self) -> float:
        return self.trials / self.end_to_end_seconds


@contextmanager
def redis_database(redis_url: str, state_dir: Path) -> Iterator[str]:
    """`redis_url` (a dedicated database number) flushed before and after; the embedded server if down."""
    try:
        Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except RedisConnectionError:
        from app.embedded_redis import embedded_redis

        with embedded_redis(state_dir / "redis") as url:
            yield url
        return
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    try:
        yield redis_url
    finally:
        connection.flushdb()
        connection.close()


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def submit(settings: Settings, spec: dict[str, Any]) -> int:
    """Create the search and enqueue its first trials, as the API's unit of work does."""
    with session_scope(settings.database_url) as session:
        search, to_enqueue = create_search(session, SearchSpec.model_validate(spec), settings)
        search_id = search.id
    assert settings.redis_url is not None
    queue = trial_queues(settings.redis_url, settings.queue_name)
    enqueue_after_commit(queue, to_enqueue, timeout_seconds=settings.trial_timeout_seconds)
    return search_id


def wait_for_search(database_url: str, search_id: int, processes: list[subprocess.Popen[bytes]]) -> Search:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with session_scope(database_url) as session:
            search = session.get(Search, search_id)
            assert search is not None
            if search.state != "running":
                return search
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("a worker exited during the run; see its log")
        time.sleep(0.05)
    raise TimeoutError(f"search {search_id} still running after {RUN_TIMEOUT_SECONDS:.0f} s")


def run_caviar(backend: str, trials: int, workers: int, args: argparse.Namespace, logs: Path) -> Run:
    with (
        scratch_database(backend, "caviar_bench", args.postgres_url) as database_url,
        redis_database(args.redis_url, logs) as redis_url,
    ):
        upgrade(database_url)
        settings = Settings(database_url=database_url, redis_url=redis_url, queue_name=QUEUE_NAME)
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        env |= {"CAVIAR_QUEUE_NAME": QUEUE_NAME, "CAVIAR_DATASET_CACHE_DIR": str(logs / "datasets")}
        env["CAVIAR_LOG_LEVEL"] = args.log_level
        for name in ("CAVIAR_DATABASE_URL", "CAVIAR_REDIS_URL"):
            env.pop(name, None)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker"],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=(logs / f"caviar-{backend}-worker-{index}.log").open("wb"),
            )
            for index in range(workers)
        ]
        spies: list[subprocess.Popen[bytes]] = []
        try:
            queue = trial_queues(redis_url, QUEUE_NAME).for_objective("quadratic")
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while Worker.count(queue=queue) < workers:
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise RuntimeError(f"workers did not start; see {logs}")
                time.sleep(0.1)
            if args.py_spy:
                spies = [spy_on(p.pid, logs / f"py-spy-{backend}-{i}.txt") for i, p in enumerate(processes)]
            submitted_at = datetime.now(UTC)
            search_id = submit(settings, zero_cost_spec("throughput", trials, args.max_parallel))
            search = wait_for_search(database_url, search_id, processes)
        finally:
            stop(processes)
        for spy in spies:
            spy.wait(timeout=60)
        with session_scope(database_url) as session:
            rows = session.execute(
                sqlalchemy.select(Trial.state, Trial.started_at, Trial.finished_at).where(
                    Trial.search_id == search_id
                )
            ).all()
        get_engine(database_url).dispose()
    completed = [row for row in rows if row.state == "completed"]
    if search.state != "completed" or len(completed) != trials:
        raise RuntimeError(f"search ended {search.state} with {len(completed)}/{trials} trials completed")
    first = min(row.started_at for row in completed)
    last = max(row.finished_at for row in completed)
    assert search.finished_at is not None
    run = Run(
        "caviar",
        backend,
        len(completed),
        (last - first).total_seconds(),
        (search.finished_at - submitted_at).total_seconds(),
    )
    if spies:
        print(spy_breakdown(sorted(logs.glob(f"py-spy-{backend}-*.txt")), run, workers))
    return run


def optuna_objective(trial: optuna.Trial) -> float:
    return sum((trial.suggest_float(name, 0.0, 1.0) - 0.5) ** 2 for name in PARAMS)


def optuna_process(storage_url: str, study_name: str, trials: int, seed: int, log_level: str) -> None:
    """One Optuna worker process: `trials` trials of the shared study, then its time window as JSON.

    Says "ready" once the study is loaded and starts when told "go", so no process runs alone while the
    other is still importing (Caviar's workers are likewise ready before the search is submitted).

    The processes split the total between them with `n_trials`, the plainest way to stop at N trials
    (`MaxTrialsCallback` would also list the study's trials after every trial).
    """
    optuna.logging.set_verbosity(logging.getLevelNamesMapping()[log_level.upper()])
    study = optuna.load_study(
        study_name=study_name, storage=storage_url, sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    study.optimize(optuna_objective, n_trials=trials)
    print(json.dumps({"started": started, "ended": time.time()}))


def run_optuna(backend: str, trials: int, workers: int, args: argparse.Namespace, logs: Path) -> Run:
    with scratch_database(backend, "optuna_bench", args.postgres_url) as storage_url:
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the parent only; the processes keep INFO
        storage = optuna.storages.RDBStorage(storage_url)
        optuna.create_study(study_name="throughput", storage=storage, direction="minimize")
        shares = [trials // workers + (index < trials % workers) for index in range(workers)]
        processes = [
            subprocess.Popen(
                [sys.executable, __file__, "--optuna-process", storage_url, "--trials", str(share)]
                + ["--seed", str(index), "--log-level", args.log_level],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=(logs / f"optuna-{backend}-process-{index}.log").open("wb"),
            )
            for index, share in enumerate(shares)
        ]
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"an Optuna process did not start; see {logs}")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=RUN_TIMEOUT_SECONDS)[0] for process in processes]
        if any(process.returncode != 0 for process in processes):
            raise RuntimeError(f"an Optuna process failed; see {logs}")
        windows = [json.loads(output) for output in outputs]
        done = optuna.load_study(study_name="throughput", storage=storage).get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        )
        storage.engine.dispose()
    first = min(t.datetime_start for t in done if t.datetime_start is not None)
    last = max(t.datetime_complete for t in done if t.datetime_complete is not None)
    return Run(
        "optuna",
        backend,
        len(done),
        (last - first).total_seconds(),
        max(w["ended"] for w in windows) - min(w["started"] for w in windows),
    )


SPY_RATE = 250  # samples per second


def spy_on(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling process `pid` until it exits, idle time included (waits on PostgreSQL and Redis)."""
    binary = Path(sys.executable).with_name("py-spy")
    if not binary.exists():
        raise SystemExit(f"--py-spy needs py-spy next to {sys.executable}: pip install py-spy")
    command = [str(binary), "record", "--pid", str(pid), "--idle", "--format", "raw", "--nonblocking"]
    return subprocess.Popen(
        [*command, "--rate", str(SPY_RATE), "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def spy_categories() -> list[tuple[str, Callable[[str], bool]]]:
    """(label, does a main-thread stack belong to it); the first match wins, so specific ones come first."""
    import inspect

    from workers import jobs

    source, first_line = inspect.getsourcelines(jobs._claim_run_record)
    claim_line, finish_line = [first_line + i for i, line in enumerate(source) if "session_scope(" in line]

    def in_run_trial_between(low: int, high: int) -> Callable[[str], bool]:
        def matches(stack: str) -> bool:
            lines = [
                int(frame.rsplit(":", 1)[1].rstrip(")"))
                for frame in stack.split(";")
                if frame.startswith("_claim_run_record (")
            ]
            return any(low <= line < high for line in lines)

        return matches

    def has(*names: str) -> Callable[[str], bool]:
        return lambda stack: any(f";{name} (" in stack for name in names)

    return [
        ("logging (rich handler; RQ's and ours)", has("Logger._log", "Logger.handle")),
        (
            "`advance_search`: reading the search's trials",
            has("TrialRepository.of_search", "StoredHistory._loaded"),
        ),
        ("`advance_search`: the rest", has("advance_search")),
        ("`finish_trial`: lock search, UPDATE trial, event", has("finish_trial")),
        ("`claim_trial`: UPDATE, SELECT search, DELETE curve", has("claim_trial")),
        ("`report`/`record_epoch` and its commit", has("WorkerTrialContext.report")),
        ("claim: commit (flushes the event INSERT)", in_run_trial_between(claim_line, claim_line + 2)),
        ("finish: commit", in_run_trial_between(finish_line, finish_line + 4)),
        ("`enqueue_after_commit`: Redis pipeline", has("enqueue_after_commit")),
        ("RQ: waiting for a job", has("Queue.dequeue_any")),
        ("RQ: job status, registries, heartbeats", has("BaseWorker.work")),
        ("other", lambda stack: True),
    ]


def spy_breakdown(files: list[Path], run: Run, workers: int) -> str:
    """The workers' main-thread samples by category, as shares of one trial's wall time in a worker."""
    categories = spy_categories()
    samples = dict.fromkeys((label for label, _ in categories), 0)
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if ";run_worker (" not in stack:
                continue  # the heartbeat thread, imports
            label = next(label for label, matches in categories if matches(stack))
            samples[label] += int(count)
    total = sum(samples.values())
    per_trial_ms = 1000 * workers / run.per_second
    lines = [
        f"py-spy, {run.backend}, {run.trials} trials at {run.per_second:.1f}/s: each of the {workers} "
        f"workers spends {per_trial_ms:.1f} ms (wall) per trial",
        "",
        "| where | share | ms per trial |",
        "|---|---:|---:|",
    ]
    for label, count in sorted(samples.items(), key=lambda item: -item[1]):
        lines.append(f"| {label} | {100 * count / total:.0f}% | {per_trial_ms * count / total:.1f} |")
    return "\n".join(lines) + "\n"


def machine(postgres_url: str, redis_url: str) -> str:
    """One line on the hardware and the versions, for the benchmark's record."""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("Model name")
        )
    except (OSError, StopIteration):
        model = platform.processor() or "unknown"
    try:
        with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as admin:
            row = admin.execute("SHOW server_version").fetchone()
        postgres = row[0].split()[0] if row else "?"
    except psycopg.OperationalError:
        postgres = "(not reachable)"
    try:
        redis_version = Redis.from_url(redis_url, socket_connect_timeout=1).info("server")["redis_version"]
    except RedisConnectionError:
        redis_version = "(embedded)"
    return (
        f'Machine: {os.cpu_count()} cores, `lscpu` model name "{model}"; Python {platform.python_version()}, '
        f"Optuna {optuna.__version__}, SQLAlchemy {sqlalchemy.__version__}, PostgreSQL {postgres}, "
        f"Redis {redis_version}."
    )


SYSTEMS = {"caviar": run_caviar, "optuna": run_optuna}


def table(runs: list[Run]) -> str:
    def median(backend: str, system: str, per_second: Callable[[Run], float]) -> float | None:
        rates = [per_second(r) for r in runs if r.backend == backend and r.system == system]
        return statistics.median(rates) if rates else None

    def cell(value: float | None, unit: str = "") -> str:
        return "–" if value is None else f"{value:.{2 if unit else 1}f}{unit}"

    lines = [
        "| backend | Caviar trials/s | Optuna trials/s | Caviar / Optuna "
        "| Caviar submit→done, trials/s | Optuna first→last `optimize`, trials/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for backend in dict.fromkeys(run.backend for run in runs):
        ours = median(backend, "caviar", lambda r: r.per_second)
        theirs = median(backend, "optuna", lambda r: r.per_second)
        ratio = ours / theirs if ours is not None and theirs is not None else None
        ours_e2e = median(backend, "caviar", lambda r: r.end_to_end_per_second)
        theirs_e2e = median(backend, "optuna", lambda r: r.end_to_end_per_second)
        cells = [cell(ours), cell(theirs), cell(ratio, "×"), cell(ours_e2e), cell(theirs_e2e)]
        lines.append(f"| {backend} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials", type=int, default=None, help="trials per run (default 1000; 200 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="200 trials per run")
    parser.add_argument("--repeats", type=int, default=1, help="runs per system and backend; medians shown")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per system")
    parser.add_argument("--max-parallel", type=int, default=16, help="Caviar's budget.max_parallel")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--systems", default="caviar,optuna", help="which side(s) to run")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument(
        "--log-level", default="INFO", help="log level of every worker process (INFO: as shipped)"
    )
    parser.add_argument(
        "--py-spy", action="store_true", help="sample Caviar's workers with py-spy (pip install py-spy)"
    )
    parser.add_argument("--optuna-process", metavar="STORAGE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    trials = args.trials or (200 if args.quick else 1000)
    if args.optuna_process:
        optuna_process(args.optuna_process, "throughput", trials, args.seed, args.log_level)
        return
    backends = [name.strip() for name in args.backends.split(",")]
    systems = [name.strip() for name in args.systems.split(",")]
    with tempfile.TemporaryDirectory(prefix="caviar-throughput-") as directory:
        logs = Path(os.environ.get("KEEP") or directory)
        runs: list[Run] = []
        for _ in range(args.repeats):
            for backend in backends:
                for system in systems:
                    run = SYSTEMS[system](backend, trials, args.workers, args, logs)
                    print(f"{run.system} {run.backend}: {run.per_second:.1f} trials/s", file=sys.stderr)
                    runs.append(run)
    command = " ".join(["python bench/throughput.py", *(argv if argv is not None else sys.argv[1:])])
    print(
        f"`{command}`: {trials} trials per run, {args.workers} worker processes per system, "
        f"{args.repeats} run(s) each, medians.\n"
    )
    print(machine(args.postgres_url, args.redis_url) + "\n")
    print(table(runs))
    for run in runs:
        print(f"- {run.system} {run.backend}: {run.trials} trials, {run.per_second:.1f}/s", end="")
        print(f" (submit→done {run.end_to_end_per_second:.1f}/s)")


if __name__ == "__main__":
    main()
