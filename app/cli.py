"""`caviar`: run the stack, the API or a worker; submit searches and read results."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import httpx
import typer
from rich.console import Console
from rich.logging import RichHandler

from app.cli_output import OutputFormat, trials_csv_text, trials_json_lines
from app.cli_render import search_progress, trials_table
from app.client import DEFAULT_API_URL, CaviarAPIError, CaviarClient
from app.settings import get_settings

app = typer.Typer(help="Caviar: hyperparameter search as a service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

ApiUrl = Annotated[str, typer.Option("--api-url", envvar="CAVIAR_API_URL", help="Where the API listens.")]
STATE_DIR = Path(".caviar")
P = ParamSpec("P")
R = TypeVar("R")


def _configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=Console(stderr=True))],
    )


@app.command()
def up(
    host: Annotated[str, typer.Option(help="API bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
) -> None:
    """Run the whole stack in the foreground: Redis (embedded unless REDIS_URL), migrations, API, workers."""
    from app.supervisor import default_worker_count, run_stack

    _configure_logging()
    settings = get_settings()
    database_url = settings.database_url if _database_url_was_given() else None
    code = run_stack(
        host=host,
        port=port,
        workers=workers if workers is not None else default_worker_count(),
        database_url=database_url,
        redis_url=settings.redis_url,
        state_dir=STATE_DIR,
    )
    raise typer.Exit(code)


def _database_url_was_given() -> bool:
    return any(os.environ.get(name) for name in ("DATABASE_URL", "CAVIAR_DATABASE_URL"))


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Run the HTTP API (uvicorn)."""
    import uvicorn

    _configure_logging()
    uvicorn.run("app.api.main:create_app", factory=True, host=host, port=port, log_config=None)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False,
) -> None:
    """Run a worker: needs only REDIS_URL and DATABASE_URL."""
    from workers.worker import run_worker

    _configure_logging()
    run_worker(get_settings(), burst=burst)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the database migrations."""
    from app.storage.migrate import MigrationsNotFound, upgrade

    _configure_logging()
    try:
        upgrade(get_settings().database_url, revision)
    except MigrationsNotFound as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"database at revision {revision}")


@app.command()
def submit(
    spec_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A search spec (JSON).")],
    wait: Annotated[bool, typer.Option(help="Show progress until the search finishes.")] = False,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Submit a search spec; with --wait, follow it and print the best configurations."""
    spec = json.loads(spec_file.read_text())
    with CaviarClient(api_url) as client:
        search = _call(client.submit, spec)
        console.print(f"search [bold]{search['id']}[/bold] created: {api_url}/searches/{search['id']}")
        if wait:
            _call(_follow, client, search["id"])


@app.command()
def best(
    search_id: Annotated[int, typer.Argument(help="The search.")],
    k: Annotated[int, typer.Option("-k", help="How many.")] = 5,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Print the best configurations of a search."""
    with CaviarClient(api_url) as client:
        search = _call(client.search, search_id)
        console.print(
            trials_table(
                _call(client.best, search_id, k),
                search["metric"],
                f"best of search {search_id}",
                show_state=False,
            )
        )


@app.command()
def trials(
    search_id: Annotated[int, typer.Argument(help="The search.")],
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table (rich), json (one object per line) or csv.")
    ] = "table",
    state: Annotated[list[str] | None, typer.Option(help="Only trials in this state (repeatable).")] = None,
    sort: Annotated[
        str | None, typer.Option(help="A column or final metric, '-' for descending: -dev_accuracy.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many trials.")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Print a search's trials: params, state and final metrics."""
    with CaviarClient(api_url) as client:
        search = _call(client.search, search_id)
        found = _call(lambda: list(client.trials(search_id, state=state, sort=sort, limit=limit)))
    if output == "json":
        sys.stdout.write(trials_json_lines(found))
    elif output == "csv":
        sys.stdout.write(trials_csv_text(found))
    else:
        console.print(trials_table(found, search["metric"], f"trials of search {search_id}"))


@app.command()
def demo(
    spec_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)] = Path(
        "examples/digits-random.json"
    ),
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
) -> None:
    """Start a throwaway stack, run the example search to the end, print the best configurations."""
    port = _free_port()
    STATE_DIR.mkdir(exist_ok=True)
    # Quiet children: the demo shows the progress bar and the result, not every trial's log line. Its own
    # queue: with REDIS_URL set, another stack's workers on that Redis must never see the demo's trial ids.
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{(STATE_DIR / 'demo.db').resolve()}",
        "CAVIAR_QUEUE_NAME": f"caviar-demo-{port}",
        "CAVIAR_LOG_LEVEL": os.environ.get("CAVIAR_LOG_LEVEL", "WARNING"),
    }
    env.pop("CAVIAR_DATABASE_URL", None)
    (STATE_DIR / "demo.db").unlink(missing_ok=True)
    command = [sys.executable, "-m", "app.cli", "up", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    stack = subprocess.Popen(command, env=env)
    api_url = f"http://127.0.0.1:{port}"
    try:
        with CaviarClient(api_url) as client:
            _wait_for_api(client, stack)
            spec = json.loads(spec_file.read_text())
            search = _call(client.submit, spec)
            _call(_follow, client, search["id"])
    finally:
        stack.terminate()
        stack.wait(timeout=30)


def _follow(client: CaviarClient, search_id: int) -> None:
    progress, update = search_progress(console)
    with progress:
        search = client.wait(search_id, poll_seconds=0.5, on_progress=update)
    console.print(f"search {search_id} {search['state']}: {search['counts']}")
    if not search["counts"].get("completed"):
        error = search.get("error") or _first_trial_error(client, search_id)
        console.print(f"[red]no trial completed{f'; first error: {error}' if error else ''}[/red]")
        raise typer.Exit(1)
    console.print(
        trials_table(
            client.best(search_id, 5), search["metric"], f"best of search {search_id}", show_state=False
        )
    )


def _first_trial_error(client: CaviarClient, search_id: int) -> str | None:
    failed = list(client.trials(search_id, state="failed", sort="finished_at", limit=1))
    return str(failed[0]["error"]) if failed else None


def _wait_for_api(client: CaviarClient, stack: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.poll() is not None:
            raise typer.Exit(stack.returncode or 1)
        try:
            client.health()
            return
        except Exception:
            time.sleep(0.3)
    console.print("[red]the stack did not come up in time[/red]")
    raise typer.Exit(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _call(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a client call; API errors and an unreachable API become a one-line message and exit code 1."""
    try:
        return function(*args, **kwargs)
    except CaviarAPIError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    except httpx.TimeoutException as error:
        console.print(f"[red]the API did not answer in time ({type(error).__name__}: {error})[/red]")
        raise typer.Exit(1) from error
    except httpx.TransportError as error:
        where = error.request.url.copy_with(path="/", query=None) if _has_request(error) else "the API"
        console.print(
            f"[red]cannot reach {where} ({error}); is `caviar up` or `caviar api` running there? "
            "Point at it with --api-url or CAVIAR_API_URL.[/red]"
        )
        raise typer.Exit(1) from error


def _has_request(error: httpx.TransportError) -> bool:
    try:
        error.request  # noqa: B018 - httpx raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True


def main() -> None:
    app()


if __name__ == "__main__":
    main()
