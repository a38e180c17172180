"""Where the CPU of the throughput benchmark's run goes: CPU-ms per trial of each process (the API, each
worker, PostgreSQL's backends of the scratch database, Redis, this poller), the recorder threads' CPU and
wall time per recording transaction, and the batches those transactions achieved (outcomes recorded and
trials claimed per transaction), with PostgreSQL's row counters per trial.

On a shared machine wall-clock rates are noisy; the CPU a trial costs is much less so. Same stack and
search as `bench/throughput.py` (`caviar api` + workers, the zero-cost search over HTTP, polled as
there). The workers are instrumented by a `sitecustomize` on their PYTHONPATH only.

    .venv/bin/python bench/throughput_cpu.py [--backend postgresql|sqlite] [--trials 1000] [--repeats 1]
    .venv/bin/python bench/throughput_cpu.py --profile     # cProfile (thread CPU time) of the recorders
    .venv/bin/python bench/throughput_cpu.py --explain     # auto_explain of every statement (server log)
    .venv/bin/python bench/throughput_cpu.py --spy DIR     # py-spy of the API and workers, CPU only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.caviar_stack import caviar_stack  # noqa: E402
from bench.zero_cost import zero_cost_spec  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")

# Loaded by the API and the workers (on their PYTHONPATH only): notes each recording transaction's batch.
BATCH_HOOK = """
import os, sys, time
if os.environ.get("CAVIAR_BENCH_EXPLAIN"):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _explain(dbapi_connection, _record):
        if dbapi_connection.__class__.__module__.startswith("psycopg"):
            cursor = dbapi_connection.cursor()
            cursor.execute("LOAD 'auto_explain'")
            cursor.execute("SET auto_explain.log_min_duration = 0")
            cursor.execute("SET auto_explain.log_analyze = on")
            cursor.execute("SET auto_explain.log_nested_statements = on")
            cursor.close()
            dbapi_connection.commit()
if os.environ.get("CAVIAR_BENCH_BATCHES") and "worker" in sys.argv:
    import app.services.trial_batches as _batches
    import workers.chain as _chain

    _record_and_refill = _batches.record_and_refill
    _log = open(os.path.join(os.environ["CAVIAR_BENCH_BATCHES"], f"{os.getpid()}.txt"), "a", buffering=1)
    _last = {}

    def record_and_refill(session, search_id, results, worker_id, *, needed, extra, **options):
        refill = _record_and_refill(
            session, search_id, results, worker_id, needed=needed, extra=extra, **options
        )
        _last.update(outcomes=len(results), needed=needed, extra=extra, claimed=len(refill.claimed))
        return refill

    _batches.record_and_refill = _chain.record_and_refill = record_and_refill
    _record = _chain.Chain._record
    _profile = None
    if os.environ.get("CAVIAR_BENCH_PROFILE"):
        import cProfile
        _profile = cProfile.Profile(time.thread_time)

    def _timed_record(self, batch, needed, extra):
        cpu, wall = time.thread_time(), time.perf_counter()
        if _profile is not None:
            _profile.enable()
        try:
            return _record(self, batch, needed, extra)
        finally:
            if _profile is not None:
                _profile.disable()
                _profile.dump_stats(os.path.join(os.environ["CAVIAR_BENCH_BATCHES"], f"{os.getpid()}.prof"))
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            _log.write(
                f"{_last.get('outcomes', 0)} {_last.get('needed', 0)} {_last.get('extra', 0)} "
                f"{_last.get('claimed', 0)} {cpu * 1e6:.0f} {wall * 1e6:.0f}\\n"
            )

    _chain.Chain._record = _timed_record
"""


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of process `pid` (all its threads), or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def pid_of(command_prefix: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().replace(b"\0", b" ").startswith(command_prefix.encode()):
                    return int(entry.name)
            except (FileNotFoundError, ProcessLookupError):
                continue
    return None


class Sampler:
    """Cumulative CPU of the named processes, PostgreSQL's backends of one database, and the rest."""

    def __init__(self, named: dict[str, int], postgres_url: str | None, database: str | None) -> None:
        self.named = named
        self.postgres_url, self.database = postgres_url, database
        self.postmaster = pid_of("/usr/lib/postgresql/") if postgres_url else None

    def sample(self) -> dict[str, float]:
        taken: dict[str, float] = {}
        for name, pid in self.named.items():
            value = cpu_seconds(pid)
            if value is not None:
                taken[name] = value
        if self.postmaster is not None:
            with psycopg.connect(self.postgres_url, autocommit=True) as admin:
                ours = {
                    row[0]
                    for row in admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
                    )
                }
            for pid in children(self.postmaster):
                value = cpu_seconds(pid)
                if value is not None:
                    taken[f"pg:{pid}" if pid in ours else f"pg-other:{pid}"] = value
        return taken


def group(name: str) -> str:
    return name.split(":")[0] if name.startswith("pg") else name


def database_counters(postgres_url: str, database: str) -> dict[str, int]:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, "
            "tup_deleted FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    assert row is not None
    names = ("commits", "rollbacks", "returned", "fetched", "inserted", "updated", "deleted")
    counters = dict(zip(names, row, strict=True))
    with psycopg.connect(
        sqlalchemy.make_url(postgres_url).set(database=database).render_as_string(False), autocommit=True
    ) as connection:
        for table, *numbers in connection.execute(
            "SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch FROM pg_stat_user_tables"
        ):
            for name, number in zip(("seq_scan", "seq_read", "idx_scan", "idx_fetch"), numbers, strict=True):
                counters[f"{table}.{name}"] = number or 0
    return counters


def run_once(args: argparse.Namespace, logs: Path) -> dict[str, object]:
    batches_dir = logs / "batches"
    batches_dir.mkdir(parents=True, exist_ok=True)
    for old in batches_dir.glob("*.txt"):
        old.unlink()
    hook_dir = logs / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(BATCH_HOOK)
    repo = Path(__file__).resolve().parent.parent
    extra_env = {
        "CAVIAR_BENCH_BATCHES": str(batches_dir),
        "PYTHONPATH": os.pathsep.join([str(hook_dir), str(repo)]),
    }
    if args.profile:
        extra_env["CAVIAR_BENCH_PROFILE"] = "1"
    if args.explain:
        extra_env["CAVIAR_BENCH_EXPLAIN"] = "1"
    with caviar_stack(
        args.backend,
        workers=args.workers,
        postgres_url=args.postgres_url,
        redis_url=args.redis_url,
        logs=logs,
        log_level=args.log_level,
        extra_env=extra_env,
    ) as stack:
        named = {"api": stack.processes[0].pid, "poller (this)": os.getpid()}
        named |= {f"worker{i}": p.pid for i, p in enumerate(stack.processes[1:])}
        redis_pid = pid_of("redis-server")
        if redis_pid is not None:
            named["redis"] = redis_pid
        database = sqlalchemy.make_url(stack.database_url).database if args.backend == "postgresql" else None
        sampler = Sampler(named, args.postgres_url if database else None, database)
        counters_before = database_counters(args.postgres_url, database) if database else {}
        spies = [
            subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--rate",
                    "500",
                    "--output",
                    str(args.spy / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in named.items()
            if args.spy and (name.startswith("worker") or name == "api")
        ]
        time.sleep(1.0 if spies else 0.0)
        load = os.getloadavg()[0]
        before = sampler.sample()
        started = time.monotonic()
        search_id = stack.submit(zero_cost_spec("throughput-cpu", args.trials, args.max_parallel))
        search = stack.wait(search_id)
        wall = time.monotonic() - started
        after = sampler.sample()
        counters_after = database_counters(args.postgres_url, database) if database else {}
        span = stack.completed_span(search_id, search, args.trials)
    for spy in spies:
        spy.wait(timeout=60)
    cpu: dict[str, float] = defaultdict(float)
    for name, value in after.items():
        cpu[group(name)] += value - before.get(name, 0.0)
    per_trial = {name: 1000 * seconds / args.trials for name, seconds in cpu.items()}
    batches: list[tuple[int, ...]] = []
    for path in batches_dir.glob("*.txt"):
        batches += [tuple(int(v) for v in line.split()) for line in path.read_text().splitlines()]
    counters = {k: (counters_after[k] - counters_before[k]) / args.trials for k in counters_after}
    return {
        "per_trial_ms": per_trial,
        "trials_per_s": args.trials / span,
        "submit_to_done_per_s": args.trials / wall,
        "wall_seconds": wall,
        "load": load,
        "batches": batches,
        "db_per_trial": counters,
    }


def report(result: dict[str, object]) -> str:
    per_trial: dict[str, float] = result["per_trial_ms"]  # type: ignore[assignment]
    batches: list[tuple[int, ...]] = result["batches"]  # type: ignore[assignment]
    lines = [
        f"trials/s {result['trials_per_s']:.1f} (submit→done {result['submit_to_done_per_s']:.1f}), "
        f"load {result['load']:.1f}",
        "CPU-ms per trial: "
        + ", ".join(f"{name} {value:.2f}" for name, value in sorted(per_trial.items()))
        + f"; total {sum(per_trial.values()):.2f}",
    ]
    outcomes = [b[0] for b in batches]
    if outcomes:
        sizes = Counter(min(n, 16) for n in outcomes)
        cpu_us = [b[4] for b in batches]
        wall_us = [b[5] for b in batches]
        lines.append(
            f"recorder thread per transaction: CPU mean {statistics.mean(cpu_us) / 1000:.2f} ms, wall mean "
            f"{statistics.mean(wall_us) / 1000:.2f} ms (median {statistics.median(wall_us) / 1000:.2f}); "
            f"recorder CPU per trial {sum(cpu_us) / 1000 / max(1, sum(outcomes)):.3f} ms"
        )
        lines.append(
            f"recording transactions: {len(batches)}, outcomes per transaction mean "
            f"{statistics.mean(outcomes):.2f} median {statistics.median(outcomes):.0f}, "
            f"claimed per transaction mean {statistics.mean(b[3] for b in batches):.2f}; sizes "
            + " ".join(f"{k}:{v}" for k, v in sorted(sizes.items()))
        )
    if result["db_per_trial"]:
        lines.append(
            "PostgreSQL per trial: "
            + ", ".join(f"{k} {v:.2f}" for k, v in result["db_per_trial"].items() if v)  # type: ignore[attr-defined]
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-parallel", type=int, default=16)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--spy", type=Path, help="py-spy the API and workers (CPU only) into this folder")
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU time) of the recorder threads")
    parser.add_argument(
        "--explain", action="store_true", help="auto_explain every statement to the server log"
    )
    parser.add_argument("--json", type=Path, help="append each run's numbers to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="caviar-throughput-cpu-") as directory:
        for _ in range(args.repeats):
            result = run_once(args, Path(directory))
            print(report(result), flush=True)
            if args.profile:
                import pstats

                stats = pstats.Stats(*map(str, (Path(directory) / "batches").glob("*.prof")))
                stats.sort_stats("cumulative").print_stats(60)
                stats.sort_stats("tottime").print_stats(30)
            if args.json:
                with args.json.open("a") as out:
                    out.write(json.dumps({**result, "batches": None, "backend": args.backend}) + "\n")


if __name__ == "__main__":
    main()
