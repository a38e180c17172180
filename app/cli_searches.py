"""`caviar` commands on searches and trials: thin, each one or two calls of `caviar.CaviarClient`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli_common import (
    DEFAULT_API_URL,
    ApiUrl,
    ListFormat,
    SearchId,
    call,
    client,
    console,
    load_spec,
    print_table,
    terminal_width,
)
from app.cli_output import OutputFormat, json_lines, trials_csv_text
from app.cli_render import fields_table, records_table, search_progress, trials_table
from caviar import CaviarClient

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table (rich), json (one object per line) or csv.")
]
StateOption = Annotated[list[str] | None, typer.Option(help="Only in this state (repeatable).")]


def submit(
    spec_file: Annotated[Path, typer.Argument(dir_okay=False, help="A search spec (JSON).")],
    wait: Annotated[bool, typer.Option(help="Show progress until the search finishes.")] = False,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Submit a search spec; with --wait, follow it and print the best configurations."""
    spec = load_spec(spec_file)
    with client(api_url) as api:
        search = call(api.submit, spec)
        console.print(f"search [bold]{search['id']}[/bold] created: {api_url}/searches/{search['id']}")
        if wait:
            call(follow, api, search["id"])


def searches(
    state: StateOption = None,
    objective: Annotated[str | None, typer.Option(help="Only searches of this objective.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Only searches on this dataset.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 20,
    output: ListFormat = "table",
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """List searches, newest first."""
    with client(api_url) as api:
        found = call(
            lambda: list(api.searches(state=state, objective=objective, dataset=dataset, limit=limit))
        )
    if output != "table":
        sys.stdout.write(json_lines(found))
        return
    columns = ("id", "state", "objective", "dataset", "created", "name")
    rows = [
        [s["id"], s["state"], s["objective"], s["dataset"], _minute(s["created_at"]), s["name"]]
        for s in found
    ]
    print_table(records_table("searches", columns, rows, width=terminal_width()))


def show(search_id: SearchId, output: ListFormat = "table", api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """One search: state, trials per state, the best trial so far, the strategy's progress."""
    with client(api_url) as api:
        search = call(api.search, search_id)
    if output != "table":
        sys.stdout.write(json_lines([search]))
        return
    best = search["best"]
    counts = ", ".join(f"{state} {count}" for state, count in search["counts"].items() if count)
    fields = [
        ("name", search["name"]),
        ("state", search["state"]),
        ("objective", search["objective"]),
        ("dataset", search["dataset"]),
        ("metric", f"{search['metric']} ({search['direction']})"),
        ("trials", f"{counts or 'none'} of {search['spec']['budget']['max_trials']}"),
        ("best", f"trial {best['id']}: {best['value']:.4g} with {best['params']}" if best else None),
        ("strategy", search["spec"]["strategy"]),
        ("retest of", search["parent_search_id"]),
        ("created", search["created_at"]),
        ("finished", search["finished_at"]),
    ]
    print_table(fields_table(f"search {search_id}", fields))


def cancel(search_id: SearchId, api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """Cancel a running search: its queued and running trials are cancelled."""
    with client(api_url) as api:
        search = call(api.cancel, search_id)
    console.print(f"search {search_id} {search['state']}: {search['counts']}")


def retest(
    search_id: SearchId,
    top_k: Annotated[int, typer.Option(help="How many of the best configurations.")] = 3,
    repeats: Annotated[int, typer.Option(help="Runs of each, with fresh seeds.")] = 3,
    wait: Annotated[bool, typer.Option(help="Show progress until the re-test finishes.")] = False,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Re-run a search's best configurations with fresh seeds, as a new search."""
    with client(api_url) as api:
        child = call(api.retest, search_id, top_k=top_k, repeats=repeats)
        console.print(f"search [bold]{child['id']}[/bold] re-tests search {search_id}")
        if wait:
            call(follow, api, child["id"])
            _print_configurations(api, child["id"])


def best(
    search_id: SearchId,
    k: Annotated[int, typer.Option("-k", help="How many.")] = 5,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Print the best configurations of a search."""
    with client(api_url) as api:
        search = call(api.search, search_id)
        top = call(api.best, search_id, k)
    print_table(
        trials_table(
            top, search["metric"], f"best of search {search_id}", show_state=False, width=terminal_width()
        )
    )


def trials(
    search_id: SearchId,
    output: FormatOption = "table",
    state: StateOption = None,
    sort: Annotated[
        str | None, typer.Option(help="A column or final metric, '-' for descending: -dev_accuracy.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many trials.")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Print a search's trials: params, state and final metrics."""
    with client(api_url) as api:
        search = call(api.search, search_id)
        found = call(lambda: list(api.trials(search_id, state=state, sort=sort, limit=limit)))
    if output == "json":
        sys.stdout.write(json_lines(found))
    elif output == "csv":
        sys.stdout.write(trials_csv_text(found))
    else:
        print_table(
            trials_table(found, search["metric"], f"trials of search {search_id}", width=terminal_width())
        )


def trial(
    trial_id: Annotated[int, typer.Argument(help="The trial.", show_default=False)],
    output: ListFormat = "table",
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """One trial: params, final metrics, error, and its learning curve."""
    with client(api_url) as api:
        found = call(api.trial, trial_id)
    if output != "table":
        sys.stdout.write(json_lines([found]))
        return
    fields = [
        ("search", found["search_id"]),
        ("state", found["state"]),
        ("value", found["value"]),
        ("params", found["params"]),
        ("metrics", found["metrics"]),
        ("error", found["error"]),
        ("attempt", found["attempt"]),
        ("worker", found["worker_id"]),
    ]
    if found.get("parent_trial_id") is not None:
        changed = found["branch_params"] or "nothing changed"
        fields.append(
            ("branch of", f"trial {found['parent_trial_id']} at step {found['branch_step']}: {changed}")
        )
    print_table(fields_table(f"trial {trial_id} (#{found['number']})", fields))
    curve = found["curve"]
    if curve:
        names = sorted({name for point in curve for name in point["metrics"]})
        rows = [[point["step"], *(point["metrics"].get(name) for name in names)] for point in curve]
        print_table(records_table("learning curve", ("step", *names), rows, width=terminal_width()))


def importance(search_id: SearchId, api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """Which hyperparameters mattered in a search, largest share first."""
    with client(api_url) as api:
        result = call(api.importance, search_id)
    rows = [[name, share, "█" * round(share * 40)] for name, share in result["importances"].items()]
    title = f"importance in search {search_id} ({result['method']}, {result['n_trials']} trials)"
    if not result.get("complete", True):  # CAVIAR_IMPORTANCE_SECONDS ran out: a rougher estimate
        title += f", time budget spent after {result['n_trees']} trees and {result['n_repeats']} shuffles"
    print_table(records_table(title, ("parameter", "share", ""), rows, width=terminal_width()))


def configurations(search_id: SearchId, api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """A search's trials grouped by configuration, mean ± std of its metric (how a re-test held up)."""
    with client(api_url) as api:
        _print_configurations(api, search_id)


def _print_configurations(api: CaviarClient, search_id: int) -> None:
    search = call(api.search, search_id)
    grouped = call(api.configurations, search_id)
    names = sorted({name for group in grouped for name in group["params"]})
    varying = [n for n in names if len({json.dumps(g["params"].get(n)) for g in grouped}) > 1] or names
    rows = [
        [
            *(group["params"].get(name, "") for name in varying),
            group["completed"],
            group["mean"],
            group["std"],
        ]
        for group in grouped
    ]
    title = f"configurations of search {search_id}: {search['metric']} over completed runs"
    header = (*varying, "runs", "mean", "std")
    print_table(records_table(title, header, rows, width=terminal_width()))


def follow(api: CaviarClient, search_id: int) -> None:
    """A progress bar until the search ends, then its best configurations."""
    progress, update = search_progress(console)
    with progress:
        search = api.wait(search_id, poll_seconds=0.5, on_progress=update)
    console.print(f"search {search_id} {search['state']}: {search['counts']}")
    if not search["counts"].get("completed"):
        error = search.get("error") or _first_trial_error(api, search_id)
        console.print(f"[red]no trial completed{f'; first error: {error}' if error else ''}[/red]")
        raise typer.Exit(1)
    top = api.best(search_id, 5)
    print_table(
        trials_table(
            top, search["metric"], f"best of search {search_id}", show_state=False, width=terminal_width()
        )
    )


def _first_trial_error(api: CaviarClient, search_id: int) -> str | None:
    failed = list(api.trials(search_id, state="failed", sort="finished_at", limit=1))
    return str(failed[0]["error"]) if failed else None


def _minute(timestamp: Any) -> str:
    return str(timestamp)[:16].replace("T", " ")


COMMANDS = (submit, searches, show, cancel, retest, best, trials, trial, importance, configurations)
