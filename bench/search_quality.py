"""Search quality: Caviar's strategies against Optuna's samplers on problems nobody here tuned for.

Problems (bench/search_problems.py): YAHPO Gym's LCBench surrogate on several OpenML tasks
(bench/lcbench.py, cross-checked against yahpo-gym by bench/yahpo_crosscheck.py) and a synthetic suite
(bench/synthetic_suite.py).
Two modes (bench/search_runners.py): sequential, and asynchronous with `--parallel` trials in flight on a
simulated clock, asked the way the service asks. Every Caviar method is built by name through
`build_strategy`, so a new kind needs only `--methods "caviar <kind>,..."`; `caviar default` is a spec
without a strategy. Prints Markdown (bench/search_report.py) and the proposal latency of the Caviar methods
(bench/proposal_latency.py).

    .venv/bin/python bench/search_quality.py [--quick] [--methods "caviar default,optuna TPE"]
        [--seeds 10] [--budget 100] [--modes sequential,async] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import lcbench  # noqa: E402
from bench.search_methods import DEFAULT_METHODS, Job, Outcome, check_methods, latency_job, run_job  # noqa: E402
from bench.search_problems import Suite, problems  # noqa: E402
from bench.search_summary import HEADING, LatencyOptions, render, write_section  # noqa: E402

MODES = {"sequential": 1, "async": None}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 seeds, 40 trials, 2 tasks (~1 min)"
    )
    parser.add_argument(
        "--full", action="store_true", help="also the NumPy MLP on digits, 8 epochs (~65 more min)"
    )
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help="comma-separated 'caviar <kind>' "
        "or 'optuna <TPE|random|CMA-ES|GP>'; 'caviar default' = a spec without a strategy",
    )
    parser.add_argument("--modes", default="sequential,async", help="sequential and/or async")
    parser.add_argument("--parallel", type=int, default=8, help="trials in flight in the async mode")
    parser.add_argument("--seeds", type=int, default=None, help="10 (3 with --quick)")
    parser.add_argument(
        "--first-seed", type=int, default=1000, help="seeds first-seed..; 0-9 were used to tune"
    )
    parser.add_argument("--budget", type=int, default=None, help="trials per search: 100 (40 with --quick)")
    parser.add_argument(
        "--tasks", default=None, help=f"LCBench tasks (default {','.join(lcbench.DEFAULT_TASKS)})"
    )
    parser.add_argument(
        "--yahpo-data", type=Path, default=None, help="folder holding lcbench/ (or $YAHPO_DATA)"
    )
    parser.add_argument("--only", default=None, help="comma-separated problem names")
    parser.add_argument("--no-latency", action="store_true", help="skip the proposal-latency benchmark")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--write", type=Path, default=None, help="write the section into this Markdown file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(argv)
    methods = check_methods([m.strip() for m in args.methods.split(",") if m.strip()])
    if not methods:
        raise SystemExit("no method left to run")
    modes = [m.strip() for m in args.modes.split(",")]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s) {unknown}; known: {', '.join(MODES)}")
    default_tasks = lcbench.DEFAULT_TASKS[:2] if args.quick else lcbench.DEFAULT_TASKS
    tasks = tuple(args.tasks.split(",")) if args.tasks else default_tasks
    suite = Suite(tasks, args.yahpo_data, synthetic=True, mlp_epochs=8 if args.full else None)
    if tasks and not lcbench.available(args.yahpo_data):
        print(
            f"LCBench data not found under {args.yahpo_data or lcbench.data_dir()}: skipping it",
            file=sys.stderr,
        )
    chosen = [p for p in problems(suite) if args.only is None or p.name in args.only.split(",")]
    if not chosen:
        raise SystemExit(
            f"no problem named {args.only!r}; known: {', '.join(p.name for p in problems(suite))}"
        )
    seeds = range(args.first_seed, args.first_seed + (args.seeds or (3 if args.quick else 10)))
    budget = args.budget or (40 if args.quick else 100)
    jobs = [
        Job(method, problem.name, seed, mode, MODES[mode] or args.parallel, budget, suite)
        for mode in modes
        for problem in chosen
        for method in methods
        for seed in seeds
    ]
    jobs.sort(key=lambda job: -job.expected_cost())  # the slowest first, so the pool ends together
    latency = LatencyOptions(
        completed=200 if args.quick else 1000, running=7, steps=50 if args.quick else 200
    )
    caviar = [m for m in methods if m.startswith("caviar ")]
    with Pool(args.processes) as pool:
        outcomes: list[Outcome] = pool.map(run_job, jobs, chunksize=1)
        timings: list[Any] = (
            []
            if args.no_latency
            else pool.starmap(
                latency_job, [(m, latency.completed, latency.running, latency.steps) for m in caviar]
            )
        )
    text = render(
        outcomes,
        chosen,
        methods,
        modes,
        seeds,
        budget,
        args,
        latency=(latency, list(zip(caviar, timings, strict=False))),
        wall_seconds=time.perf_counter() - started,
    )
    print(text)
    if args.write:
        write_section(args.write, HEADING, text)


if __name__ == "__main__":
    main()
