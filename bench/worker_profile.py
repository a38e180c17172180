"""Where a Caviar worker's time goes: py-spy samples of its threads, summed by the parts of a trial.

`pip install py-spy`; sampling takes CPU from the workers, so a profiled run's rates are not the
benchmark's.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

SPY_RATE = 250  # samples per second

PARTS = (
    ("waiting for the next trial (held trials ran out)", "Chain.next_run"),
    ("the objective (its reports included)", "execute"),
    ("recording: waiting for the search's row lock", "SearchRepository.get_for_update"),
    ("recording: outcomes and their reports", "record_outcome"),
    ("recording: asking the strategy for more", "advance_after_results"),
    ("recording: claiming the next trials", "claim_queued"),
    ("recording: Redis (enqueue new, drop claimed)", "enqueue_after_commit"),
    ("the first claim of a job", "claim_trial"),
    ("RQ: waiting for a job", "Queue.dequeue_any"),
    ("logging", "Logger.handle"),
)


def spy_on(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling process `pid` until it exits, idle time included (waits on the database, Redis)."""
    binary = Path(sys.executable).with_name("py-spy")
    if not binary.exists():
        raise SystemExit(f"--py-spy needs py-spy next to {sys.executable}: pip install py-spy")
    command = [str(binary), "record", "--pid", str(pid), "--idle", "--format", "raw", "--nonblocking"]
    return subprocess.Popen(
        [*command, "--rate", str(SPY_RATE), "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def breakdown(files: list[Path]) -> str:
    """Per thread (the job's, the recorder's), the share of samples inside each part (inclusive)."""
    threads: Counter[str] = Counter()
    inside: Counter[tuple[str, str]] = Counter()
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = {frame.split(" (")[0] for frame in stack.split(";")}
            thread = "recorder" if "Chain._record_loop" in frames else "job" if "run_worker" in frames else ""
            if not thread:
                continue  # the heartbeat thread, imports
            threads[thread] += int(count)
            for label, function in PARTS:
                if function in frames:
                    inside[thread, label] += int(count)
    lines = ["| thread | part | share of the thread's samples |", "|---|---|---:|"]
    for (thread, label), count in sorted(inside.items(), key=lambda item: (item[0][0], -item[1])):
        lines.append(f"| {thread} | {label} | {100 * count / threads[thread]:.0f}% |")
    return "\n".join(lines) + "\n"
