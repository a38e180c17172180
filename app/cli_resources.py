"""`caviar` commands on datasets and workers: thin, each one call of `caviar.CaviarClient`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from app.cli_common import (
    DEFAULT_API_URL,
    ApiUrl,
    ListFormat,
    call,
    client,
    console,
    fail,
    print_table,
    terminal_width,
)
from app.cli_output import json_lines
from app.cli_render import records_table


def datasets(output: ListFormat = "table", api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """Built-in dataset names and uploaded datasets."""
    with client(api_url) as api:
        found = call(api.datasets)
    if output == "json":
        sys.stdout.write(json_lines(found["uploaded"]))
        return
    console.print(f"built in: {', '.join(found['builtin'])}")
    rows = [[d["name"], d["n_rows"], d["n_features"], d["n_classes"], d["id"]] for d in found["uploaded"]]
    columns = ("name", "rows", "features", "classes", "id")
    print_table(records_table("uploaded datasets", columns, rows, width=terminal_width()))


def upload(
    file: Annotated[Path, typer.Argument(dir_okay=False, help=".npz with arrays X and y, or a CSV file.")],
    name: Annotated[str, typer.Option(help='How specs refer to it (`"dataset": NAME`).')],
    label_column: Annotated[str | None, typer.Option(help="CSV only: the column of the labels.")] = None,
    file_format: Annotated[
        Literal["npz", "csv"] | None, typer.Option("--format", help="Default: from the file name.")
    ] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Upload a dataset; it is checked, stored and usable by every worker."""
    try:
        content = file.read_bytes()
    except OSError as error:
        fail(f"{file}: cannot read it ({error.strerror or error})")
    with client(api_url) as api:
        stored = call(
            api.upload_dataset,
            name,
            content,
            filename=file.name,
            label_column=label_column,
            format=file_format,
        )
    console.print(
        f"dataset {stored['name']}: {stored['n_rows']} rows, {stored['n_features']} features, "
        f"{stored['n_classes']} classes (id {stored['id'][:12]})"
    )


def workers(
    alive: Annotated[bool, typer.Option("--alive", help="Only workers that still heartbeat.")] = False,
    output: ListFormat = "table",
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Registered workers: host, state, current trial, objectives they run."""
    with client(api_url) as api:
        found = call(api.workers, alive=True if alive else None)
    if output == "json":
        sys.stdout.write(json_lines(found))
        return
    rows = [
        [
            w["host"],
            w["pid"],
            w["state"],
            "yes" if w["alive"] else "no",
            w["current_trial_id"],
            ", ".join(w["objectives"]),
        ]
        for w in found
    ]
    columns = ("host", "pid", "state", "alive", "trial", "objectives")
    print_table(records_table("workers", columns, rows, width=terminal_width()))


COMMANDS = (datasets, upload, workers)
