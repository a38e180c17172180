"""Markdown for bench/search_quality.py: per-problem tables, mean ranks, the default-vs-TPE verdicts.

`results[(mode, problem, method)]` holds one Run per seed, seeds in the same order for every method.
"best at n" is the noise-free value of the trial with the best observed value among the first n to
finish (ties: the earlier); a search that stopped early keeps its last best.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import mannwhitneyu, rankdata

from bench.search_problems import Problem
from bench.search_runners import Run

Results = Mapping[tuple[str, str, str], Sequence[Run]]
PEER = "optuna TPE"
DEFAULT = "caviar default"


def best_at(run: Run, n: int, direction: str) -> float:
    observed = np.asarray(run.observed[:n])
    if observed.size == 0:
        return float("nan")
    index = int(np.argmax(observed) if direction == "maximize" else np.argmin(observed))
    return run.noise_free[index]


def checkpoints(budget: int) -> tuple[int, ...]:
    return (budget // 5, 2 * budget // 5, budget)


def fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    if abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.4f}" if abs(value) >= 1e-3 else f"{value:.2e}"


def _quartiles(values: Sequence[float]) -> str:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return f"{fmt(median)} [{fmt(q1)}, {fmt(q3)}]"


def problem_table(problem: Problem, mode: str, results: Results, methods: Sequence[str], budget: int) -> str:
    marks = checkpoints(budget)
    runs = {method: results[(mode, problem.name, method)] for method in methods}
    n_seeds = len(runs[methods[0]])
    timed = mode != "sequential"
    head = "| method | " + " | ".join(f"@{m}" for m in marks) + f" | p vs {PEER} @{budget} | search s/run |"
    head += " makespan |" if timed else ""
    lines = [
        f"#### {problem.name}, {mode} ({problem.direction}; {n_seeds} seeds)",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    final = {method: [best_at(run, budget, problem.direction) for run in runs[method]] for method in methods}
    for method in methods:
        cells = [_quartiles([best_at(run, m, problem.direction) for run in runs[method]]) for m in marks]
        if PEER in final and method != PEER:
            p_value = mannwhitneyu(final[method], final[PEER], alternative="two-sided").pvalue
            cells.append(f"{p_value:.3f}")
        else:
            cells.append("")
        cells.append(f"{np.mean([run.search_seconds for run in runs[method]]):.3f}")
        if timed:
            cells.append(f"{np.median([run.makespan for run in runs[method]]):.1f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def mean_ranks(
    results: Results, problems: Sequence[Problem], modes: Sequence[str], methods: Sequence[str], budget: int
) -> str:
    """Rank the methods (1 = best, ties share) on every (problem, seed) pair, then average per method."""
    columns = [(mode, mark) for mode in modes for mark in checkpoints(budget)]
    ranks: dict[tuple[str, int], np.ndarray] = {}
    pairs = 0
    for mode, mark in columns:
        rows = []
        for problem in problems:
            sign = -1.0 if problem.direction == "maximize" else 1.0
            by_method = [
                [best_at(run, mark, problem.direction) for run in results[(mode, problem.name, m)]]
                for m in methods
            ]
            table = sign * np.array(by_method)  # (methods, seeds), lower is better
            rows.extend(rankdata(table[:, seed]) for seed in range(table.shape[1]))
        ranks[(mode, mark)] = np.mean(rows, axis=0)
        pairs = len(rows)
    head = "| method | " + " | ".join(f"{mode} @{mark}" for mode, mark in columns) + " |"
    lines = [
        f"Mean rank over {pairs} (problem, seed) pairs per column; 1 = best of {len(methods)}.",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for index, method in enumerate(methods):
        lines.append(f"| {method} | " + " | ".join(f"{ranks[c][index]:.2f}" for c in columns) + " |")
    return "\n".join(lines) + "\n"


def default_vs_peer(
    results: Results, problems: Sequence[Problem], modes: Sequence[str], methods: Sequence[str], budget: int
) -> str:
    """One line per problem: is the Caviar default's median best at the budget at least TPE's?"""
    if DEFAULT not in methods or PEER not in methods:
        return ""
    lines = []
    wins = 0
    for problem in problems:
        verdicts = []
        for mode in modes:
            ours, theirs = (
                float(
                    np.median(
                        [best_at(run, budget, problem.direction) for run in results[(mode, problem.name, m)]]
                    )
                )
                for m in (DEFAULT, PEER)
            )
            at_least = ours >= theirs if problem.direction == "maximize" else ours <= theirs
            wins += at_least
            verdicts.append(f"{mode} {'yes' if at_least else 'NO'} ({fmt(ours)} vs {fmt(theirs)})")
        lines.append(f"- {problem.name} ({problem.direction}): " + "; ".join(verdicts))
    total = len(problems) * len(modes)
    return (
        f"Caviar default's median best @{budget} at least Optuna TPE's, in the problem's direction: "
        f"{wins} of {total}.\n\n" + "\n".join(lines) + "\n"
    )
