"""The Markdown section of bench/search_quality.py, and writing it into docs/benchmarks.md."""

from __future__ import annotations

import argparse
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnxruntime
import optuna

from app.domain.strategies import DEFAULT_STRATEGY
from bench import proposal_latency, search_report
from bench.search_methods import Outcome
from bench.search_problems import Problem
from bench.search_runners import Run

HEADING = "## Search quality: Caviar vs Optuna"


@dataclass(frozen=True)
class LatencyOptions:
    completed: int
    running: int
    steps: int


def render(
    outcomes: Sequence[Outcome],
    problems: Sequence[Problem],
    methods: Sequence[str],
    modes: Sequence[str],
    seeds: range,
    budget: int,
    args: argparse.Namespace,
    *,
    latency: tuple[LatencyOptions, list[tuple[str, list[tuple[float, float]]]]],
    wall_seconds: float,
) -> str:
    results: dict[tuple[str, str, str], list[Run]] = defaultdict(list)
    for outcome in sorted(outcomes, key=lambda o: o.job.seed):
        results[(outcome.job.mode, outcome.job.problem, outcome.job.method)].append(outcome.run)
    sections = [
        HEADING + "\n",
        _preamble(args, problems, methods, modes, seeds, budget, wall_seconds, outcomes),
        "### Mean rank per method\n",
        search_report.mean_ranks(results, problems, modes, methods, budget),
    ]
    verdicts = search_report.default_vs_peer(results, problems, modes, methods, budget)
    if verdicts:
        sections += ["### Caviar default vs Optuna TPE\n", verdicts]
    options, timings = latency
    if timings:
        rows = [proposal_latency.summary_row(method, seconds) for method, seconds in timings]
        sections += [
            "### Proposal latency\n",
            proposal_latency.table(rows, options.completed, options.running, options.steps),
        ]
    sections.append(
        "### Per problem\n\nMedian [Q1, Q3] over seeds of the best value after @n finished trials; p: "
        f"two-sided Mann-Whitney U against {search_report.PEER} at the budget; search s/run: mean CPU time "
        "spent choosing trials per search (objective excluded); makespan (async): median simulated time "
        "until the last trial finished (trial durations have median 1; the same for every method, so a "
        "longer makespan means workers waited for the strategy, e.g. for a coarse-to-fine round to end).\n"
    )
    for mode in modes:
        sections += [
            search_report.problem_table(problem, mode, results, methods, budget) for problem in problems
        ]
    return "\n".join(sections)


def _preamble(
    args: argparse.Namespace,
    problems: Sequence[Problem],
    methods: Sequence[str],
    modes: Sequence[str],
    seeds: range,
    budget: int,
    wall_seconds: float,
    outcomes: Sequence[Outcome],
) -> str:
    cpu_minutes = sum(outcome.cpu_seconds for outcome in outcomes) / 60
    command = (
        "python bench/search_quality.py"
        + (" --quick" if args.quick else "")
        + (" --full" if args.full else "")
    )
    marks = ", ".join(f"@{m}" for m in search_report.checkpoints(budget))
    listed = "; ".join(f"`{p.name}` ({p.what}, {p.direction})" for p in problems)
    return (
        f"`{command}` on commit {_commit()} (took {wall_seconds / 60:.1f} min on {args.processes} processes; "
        "the searches used "
        f"{cpu_minutes:.1f} CPU-min): Optuna "
        f"{optuna.__version__}, onnxruntime {onnxruntime.__version__}; seeds {seeds.start}-{seeds.stop - 1} "
        f"for every method ({len(seeds)} per problem and mode; our defaults were chosen on seeds 0-9, so "
        f"these are held out); {budget} trials per search, checkpoints {marks}. Modes: "
        + ", ".join(
            "sequential (one trial at a time)"
            if mode == "sequential"
            else f"async ({args.parallel} trials in flight on a simulated clock, lognormal durations drawn "
            "from (seed, trial number), asked as the service asks: the first call for "
            f"{args.parallel}, then for the free slots with the running trials in the history)"
            for mode in modes
        )
        + f".\n\nMethods: {', '.join(methods)}. `caviar default` is a spec without `strategy`, i.e. "
        f"`{dict(DEFAULT_STRATEGY)}`; Caviar strategies run with their default options. Optuna's samplers "
        "run with theirs: TPESampler(seed) in Optuna 5 is multivariate with constant_liar=True and 10 random "
        "startup trials; CmaEsSampler samples categorical and conditional parameters independently "
        "(randomly). Optuna has no log1m scale: there `1 - suggest_float('1-beta', 1 - high, 1 - low, "
        "log=True)`, the same distribution; `when` conditions become conditional suggest calls.\n\n"
        f"Problems: {listed}. Noisy problems report the noise-free value of the trial with the best "
        "observed value (what a user would deploy); the others have no noise. Each trial's seed depends "
        "on (seed, trial number) only, the same for every method.\n"
    )


def _commit() -> str:
    """The checked-out commit, marked `+changes` when the work tree differs from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" +changes" if dirty.stdout.strip() else "")


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace our section of the file (up to the next `## ` heading), keeping everyone else's."""
    existing = path.read_text() if path.exists() else "# Benchmarks\n"
    start = existing.find(heading)
    if start == -1:
        path.write_text(existing.rstrip("\n") + "\n\n" + text)
        return
    end = existing.find("\n## ", start + len(heading))
    rest = existing[end + 1 :] if end != -1 else ""
    path.write_text(existing[:start] + text + ("\n" + rest if rest else ""))
