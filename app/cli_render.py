"""Rich rendering for the CLI: tables that never fold a cell, and the progress bar."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

TERMINAL = ("completed", "failed", "pruned", "cancelled")
MAX_CELL = 12
"""Widest a parameter column grows (or its name's width): a long list value ends in an ellipsis."""


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def varying_params(trials: Sequence[dict[str, Any]]) -> list[str]:
    """Parameters whose value differs between trials (fixed ones would only repeat); all if one trial."""
    names = sorted({name for trial in trials for name in trial["params"]})
    if len(trials) < 2:
        return names
    return [name for name in names if len({repr(t["params"].get(name)) for t in trials}) > 1]


def trials_table(
    trials: Sequence[dict[str, Any]],
    metric: str,
    title: str,
    *,
    show_state: bool = True,
    width: int | None = None,
) -> Table:
    """One row per trial: number, state, metric value and every parameter that varies.

    With a `width` (a terminal's), parameter columns that do not fit are left out and named in the
    caption, rather than every cell folded over several lines; without one (a pipe) all are shown.
    """
    param_names = varying_params(trials)
    shown = len(param_names)
    table = _trials_table(trials, metric, title, show_state, param_names)
    while width is not None and shown > 0 and _width_of(table) > width:
        shown -= 1
        table = _trials_table(trials, metric, title, show_state, param_names[:shown])
    if shown < len(param_names):
        hidden = ", ".join(param_names[shown:])
        table.caption = f"not shown: {hidden} (a wider terminal, or --format csv / json, shows them)"
    return table


def _trials_table(
    trials: Sequence[dict[str, Any]], metric: str, title: str, show_state: bool, param_names: list[str]
) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, caption_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    if show_state:
        table.add_column("state", no_wrap=True)
    table.add_column(metric, justify="right", no_wrap=True)
    for name in param_names:
        table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=max(len(name), MAX_CELL))
    for trial in trials:
        table.add_row(
            str(trial["number"]),
            *([trial["state"]] if show_state else []),
            _format(trial["value"]) if trial["value"] is not None else "-",
            *(_format(trial["params"].get(name, "-")) for name in param_names),
        )
    return table


def records_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, width: int | None = None
) -> Table:
    """A list (searches, workers, datasets): cells never fold. With a `width`, the last column (a name, a
    list of objectives) gives way with an ellipsis so that the others keep their full width."""
    cells = [["-" if value is None else _format(value) for value in row] for row in rows]
    if width is None:
        return _records_table(title, columns, cells, None)
    narrowest = len(columns[-1])
    others = _width_of(_records_table(title, columns, cells, narrowest)) - narrowest
    return _records_table(title, columns, cells, max(narrowest, width - others))


def _records_table(
    title: str, columns: Sequence[str], cells: list[list[str]], last_width: int | None
) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in columns[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(columns[-1], no_wrap=True, overflow="ellipsis", max_width=last_width)
    for row in cells:
        table.add_row(*row)
    return table


def fields_table(title: str, fields: Iterable[tuple[str, Any]]) -> Table:
    """One record as `name  value` lines; long values wrap within their column, names never do."""
    table = Table(title=title, box=None, show_header=False, title_justify="left")
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in fields:
        table.add_row(name, "-" if value is None else _format(value))
    return table


def _width_of(table: Table) -> int:
    return Console(width=10_000).measure(table).maximum


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
