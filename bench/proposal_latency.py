"""How long a Caviar strategy takes to propose one trial late in a big search, as a worker would ask.

On the LCBench space (values from the surrogate of task 3945, or a stand-in without the data): the
strategy proposes `completed` trials (asked in batches of up to 64, all completed), then `running` more
that stay in flight; then, `steps` times, the oldest running trial completes and `propose(history,
state, 1)` is timed (CPU time, and wall time for reference), its proposal joining the running ones.
Target: p99 under 50 ms.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from app.domain.space import SearchSpace
from app.domain.strategies import Proposal, TrialRecord, build_strategy
from bench import lcbench

TARGET_P99_MS = 50.0


def _values(params: Sequence[Mapping[str, Any]], space: SearchSpace) -> list[float]:
    if lcbench.available():
        predictions = lcbench.LCBenchSurrogate("3945").predict(params)
        return [float(v) for v in predictions[:, lcbench.OUTPUTS.index("val_accuracy")]]
    return [float(100 - 100 * np.mean((space.to_unit(p) - 0.3) ** 2)) for p in params]


def proposal_latency(
    raw: Mapping[str, Any], *, completed: int, running: int, steps: int, seed: int = 1000
) -> list[tuple[float, float]]:
    """(CPU, wall) seconds per `propose(history, state, 1)` call, one pair per step."""
    space = SearchSpace.from_spec(lcbench.LCBENCH_SPACE)
    budget = completed + running + steps
    strategy = build_strategy(raw, space, seed=seed, direction="maximize", max_trials=budget)
    history: list[TrialRecord] = []
    state: dict[str, Any] = {}

    def add(proposals: Sequence[Proposal], done: bool) -> None:
        values = _values([p.params for p in proposals], space) if done else [None] * len(proposals)
        for proposal, value in zip(proposals, values, strict=True):
            status = "completed" if done else "running"
            history.append(TrialRecord(len(history), proposal.params, status, value, proposal.round))

    while len(history) < completed:
        proposals, state = strategy.propose(history, state, min(64, completed - len(history)))
        if not proposals:
            break
        add(proposals, done=True)
    proposals, state = strategy.propose(history, state, running)
    add(proposals, done=False)
    seconds: list[tuple[float, float]] = []
    for _ in range(steps):
        pending = [trial.number for trial in history if trial.state == "running"]
        if pending:
            oldest = history[pending[0]]
            history[oldest.number] = replace(
                oldest, state="completed", value=_values([oldest.params], space)[0]
            )
        started, cpu_started = time.perf_counter(), time.process_time()
        proposals, state = strategy.propose(history, state, 1)
        seconds.append((time.process_time() - cpu_started, time.perf_counter() - started))
        add(proposals, done=False)
    return seconds


def summary_row(method: str, seconds: Sequence[tuple[float, float]]) -> str:
    cpu, wall = (1000 * np.array(column) for column in zip(*seconds, strict=True))
    p50, p99, worst = (float(np.percentile(cpu, q)) for q in (50, 99, 100))
    wall_p99 = float(np.percentile(wall, 99))
    verdict = "yes" if p99 < TARGET_P99_MS else "NO"
    return f"| {method} | {p50:.2f} | {p99:.2f} | {worst:.2f} | {wall_p99:.2f} | {verdict} |"


def table(rows: Sequence[str], completed: int, running: int, steps: int) -> str:
    return (
        "\n".join(
            [
                f"`propose(history, state, 1)` after {completed} completed trials with {running} running, "
                f"timed over the next {steps} asks (LCBench space, one thread). Milliseconds of CPU time "
                "of the calling process, so that other work on the machine doesn't count; wall p99 for "
                "reference:",
                "",
                f"| method | p50 ms | p99 ms | max ms | wall p99 ms | p99 < {TARGET_P99_MS:.0f} ms |",
                "|---|---|---|---|---|---|",
                *rows,
            ]
        )
        + "\n"
    )
