"""`caviar`: run the stack, the API or a worker; the client commands are in cli_searches, cli_controls,
cli_watch, cli_resources."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from app import cli_controls, cli_resources, cli_searches, cli_watch
from app.cli_common import call, console, fail, load_spec
from app.cli_keys import keys_app
from app.cli_searches import follow
from app.settings import get_settings
from caviar import CaviarClient

app = typer.Typer(help="Caviar: hyperparameter search as a service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
STATE_DIR = Path(".caviar")


def _configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=Console(stderr=True))],
    )


def _plain_access_log() -> None:
    """uvicorn's line per request, written by a plain handler: RichHandler took about 2 ms of CPU to render
    one (as much as a poll's own work in the API), a plain formatter a few microseconds."""
    handler = logging.StreamHandler()  # stderr, as RichHandler's console
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)-8s %(name)s: %(message)s", "%X"))
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    access.propagate = False


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

    from app.api.main import create_app

    _configure_logging()
    _plain_access_log()
    uvicorn.run(create_app(bind_host=host), host=host, port=port, log_config=None)


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
        fail(str(error))
    console.print(f"database at revision {revision}")


@app.command()
def demo(
    spec_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)] = Path(
        "examples/digits-random.json"
    ),
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
) -> None:
    """Start a throwaway stack, run the example search to the end, print the best configurations."""
    from app.embedded_redis import free_loopback_port  # the redis client library, for this command only

    port = free_loopback_port()
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
    from app.supervisor import cli_command

    command = cli_command("up", "--port", str(port))
    if workers is not None:
        command += ["--workers", str(workers)]
    stack = subprocess.Popen(command, env=env)
    api_url = f"http://127.0.0.1:{port}"
    try:
        with CaviarClient(api_url) as client:
            _wait_for_api(client, stack)
            spec = load_spec(spec_file)
            search = call(client.submit, spec)
            call(follow, client, search["id"])
    finally:
        stack.terminate()
        stack.wait(timeout=30)


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
    fail("the stack did not come up in time")


# After the stack commands, so that `caviar --help` lists those first.
for command in (
    *cli_searches.COMMANDS,
    *cli_controls.COMMANDS,
    *cli_watch.COMMANDS,
    *cli_resources.COMMANDS,
):
    app.command()(command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
