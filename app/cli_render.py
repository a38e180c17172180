"""Rich rendering for the CLI: the best-configurations table and the progress bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

TERMINAL = ("completed", "failed", "pruned", "cancelled")


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def varying_params(trials: Sequence[dict[str, Any]]) -> list[str]:
    """Parameters whose value differs between trials (fixed ones would only repeat); all if one trial."""
    names = sorted({name for trial in trials for name in trial["params"]})
    if len(trials) < 2:
        return names
    return [name for name in names if len({repr(t["params"].get(name)) for t in trials}) > 1]


def trials_table(
    trials: Sequence[dict[str, Any]], metric: str, title: str, *, show_state: bool = True
) -> Table:
    """One row per trial: number, state, metric value and every parameter that varies."""
    param_names = varying_params(trials)
    table = Table(title=title)
    for column in ("#", *(["state"] if show_state else []), metric, *param_names):
        table.add_column(column, justify="right" if column in ("#", metric) else "left", overflow="fold")
    for trial in trials:
        table.add_row(
            str(trial["number"]),
            *([trial["state"]] if show_state else []),
            _format(trial["value"]) if trial["value"] is not None else "-",
            *(_format(trial["params"].get(name, "-")) for name in param_names),
        )
    return table


def search_progress(console: Console) -> tuple[Progress, Callable[[dict[str, Any]], None]]:
    """A progress bar of finished trials with the best value so far, and the callback that updates it."""
    progress = Progress(
        TextColumn("[bold]search {task.fields[search_id]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("trials", total=None, search_id="?", best="-")

    def update(search: dict[str, Any]) -> None:
        done = sum(search["counts"].get(state, 0) for state in TERMINAL)
        best = search["best"]["value"] if search["best"] else None
        progress.update(
            task,
            completed=done,
            total=search["spec"]["budget"]["max_trials"] if search["state"] == "running" else done,
            search_id=search["id"],
            best=_format(best) if best is not None else "-",
        )

    return progress, update
