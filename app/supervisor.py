"""`caviar up`: the whole stack in the foreground: Redis, migrations, the API and N workers.

Embedded defaults: without a Redis URL a private redis-server is started under ``<state_dir>/redis``;
without a database URL the SQLite file ``<state_dir>/caviar.db`` is used. Children run the `caviar`
CLI through ``python -P -m caviar._server`` with the same interpreter, so the stack never depends on PATH,
and a user's own ``app/`` in the working directory never shadows ours (``-P``: no working directory on
``sys.path``; ``caviar._server`` finds ``app`` inside an installed wheel as in a source checkout).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.table import Table

from app.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from app.processes import ManagedProcess, stop_all
from app.settings import get_settings
from app.supervision import StopRequest, describe_exit, stop_requested_by_signals, supervise

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_SECONDS = 10.0
API_READY_TIMEOUT_SECONDS = 60.0

console = Console(highlight=False)


def default_worker_count() -> int:
    """One worker per core this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_database_url(state_dir: Path) -> str:
    """The embedded SQLite database: ``<state_dir>/caviar.db`` as an absolute SQLAlchemy URL."""
    return f"sqlite:///{(state_dir / 'caviar.db').resolve()}"


def stack_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """This process's environment with both URLs set under every name the settings read."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "CAVIAR_DATABASE_URL"):  # the CAVIAR_ name wins in Settings
        env[name] = database_url
    for name in ("REDIS_URL", "CAVIAR_REDIS_URL"):
        env[name] = redis_url
    return env


def cli_command(*args: str) -> list[str]:
    """argv running `caviar <args>` with this interpreter."""
    return [sys.executable, "-P", "-m", "caviar._server", *args]


def run_stack(
    *,
    host: str,
    port: int,
    workers: int,
    database_url: str | None,
    redis_url: str | None,
    state_dir: Path,
) -> int:
    """Run Redis (embedded unless `redis_url`), migrations, the API and `workers` workers until a signal.

    Returns the exit status: 0 after Ctrl-C/SIGTERM/SIGHUP, non-zero when a part of the stack failed.
    Must be called from the main thread (it installs signal handlers and its children die with it).
    """
    if workers < 1:
        raise ValueError(f"`workers` must be at least 1, got {workers=}")
    if not 0 < port < 65536:
        raise ValueError(f"`port` must be in 1..65535, got {port=}")
    state_dir.mkdir(parents=True, exist_ok=True)
    database_url = database_url or default_database_url(state_dir)
    if not _port_is_free(host, port):
        console.print(f"[red]Port {port} on {host} is already in use; pass another one with --port.[/red]")
        return 1

    with stop_requested_by_signals() as stop, ExitStack() as cleanup:
        watched: list[ManagedProcess] = []
        redis_label = "external"
        if not redis_url:  # unset or empty
            server = EmbeddedRedis(state_dir / "redis")
            try:
                redis_url = server.start()
            except EmbeddedRedisError as e:
                console.print(f"[red]Could not start the embedded Redis:[/red] {e.message}")
                return 1
            cleanup.callback(server.stop)
            watched.append(server.process)
            redis_label = "embedded"
        env = stack_environment(database_url, redis_url)

        status = _migrate(env, stop)
        if status != 0 or stop.requested:
            return status

        api = ManagedProcess("api", cli_command("api", "--host", host, "--port", str(port)), env=env)
        pool = [
            ManagedProcess(f"worker-{index}", cli_command("worker"), env=env)
            for index in range(1, workers + 1)
        ]
        # Also stops them if anything below raises; supervise() stops them first on a normal exit.
        cleanup.callback(stop_all, [api, *pool], timeout=SHUTDOWN_TIMEOUT_SECONDS, hurry=lambda: stop.forced)
        for process in [api, *pool]:
            process.start()
        if _wait_until_listening(host, port, api, stop):
            _print_banner(host, port, database_url, f"{_redact(redis_url)} ({redis_label})", workers)
        status = supervise(
            services=[api],
            workers=pool,
            stop=stop,
            watched=watched,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        )
    console.print("Stopped." if status == 0 else "[red]Stopped after a failure; see the log above.[/red]")
    return status


def _migrate(env: dict[str, str], stop: StopRequest) -> int:
    """Run `caviar db upgrade`; its exit status (0 also when stopped by a signal before it ended)."""
    console.print("Applying database migrations…")
    migration = ManagedProcess("migrate", cli_command("db", "upgrade"), env=env)
    migration.start()
    while (code := migration.wait(timeout=0.2)) is None:
        if stop.requested:
            migration.terminate()
            if migration.wait(SHUTDOWN_TIMEOUT_SECONDS) is None:
                migration.kill()
                migration.wait()
            return 0
    if code != 0:
        log.error("migrations failed (`caviar db upgrade` exited with %s)", describe_exit(code))
        console.print("[red]Migrations failed; see the log above.[/red]")
    return code


def _port_is_free(host: str, port: int) -> bool:
    try:
        # create_server sets SO_REUSEADDR, as uvicorn does, so a port in TIME_WAIT counts as free.
        with socket.create_server((host, port)):
            return True
    except OSError:
        return False


def _wait_until_listening(host: str, port: int, api: ManagedProcess, stop: StopRequest) -> bool:
    """True once the API accepts connections; False if it exited, a stop came, or it took too long."""
    deadline = time.monotonic() + API_READY_TIMEOUT_SECONDS
    while api.is_running() and not stop.requested:
        try:
            with socket.create_connection((_reachable_host(host), port), timeout=0.5):
                return True
        except OSError:
            if time.monotonic() > deadline:
                log.warning("the API is not listening on port %d after %g s", port, API_READY_TIMEOUT_SECONDS)
                return False
            time.sleep(0.1)
    return False


def _reachable_host(host: str) -> str:
    """Where a local client reaches a server bound to `host` (a wildcard address means loopback)."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def _redact(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    credentials = f"{parts.username or ''}:***@"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=credentials + host))


def _print_banner(host: str, port: int, database_url: str, redis: str, workers: int) -> None:
    reachable = _reachable_host(host)
    base = f"http://[{reachable}]:{port}" if ":" in reachable else f"http://{reachable}:{port}"
    table = Table.grid(padding=(0, 2))
    table.add_row("API", base)
    table.add_row("Docs", f"{base}/docs")
    table.add_row("Database", _redact(database_url))
    table.add_row("Redis", redis)
    table.add_row("Workers", str(workers))
    required = get_settings().keys_required(host)
    table.add_row("API keys", "required (create one: caviar keys create)" if required else "not required")
    console.print("[bold green]Caviar is up[/bold green]")
    console.print(table)
    console.print("Press Ctrl-C to stop.")
