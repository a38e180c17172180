"""`caviar api` requires API keys by itself as soon as it listens on more than loopback."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.domain.api_keys import Scope
from app.embedded_redis import free_loopback_port
from app.services.api_keys import create_key
from app.settings import Settings
from app.storage.db import session_scope
from tests.e2e.conftest import process_env


@contextmanager
def api_process(settings: Settings, tmp_path: Path, host: str) -> Iterator[str]:
    port = free_loopback_port()
    log_path = tmp_path / f"api-{host}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "api", "--host", host, "--port", str(port)],
            env=process_env(settings, tmp_path),
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"the API did not come up:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_an_api_bound_to_every_address_requires_keys(settings: Settings, tmp_path: Path) -> None:
    with session_scope(settings.database_url) as session:
        _, token = create_key(session, "ops", Scope.READ)
    with api_process(settings, tmp_path, "0.0.0.0") as url:
        refused = httpx.get(f"{url}/searches")
        served = httpx.get(f"{url}/searches", headers={"Authorization": f"Bearer {token}"})
        health = httpx.get(f"{url}/healthz")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    assert served.status_code == 200 and health.status_code == 200


def test_an_api_on_loopback_needs_no_key(settings: Settings, tmp_path: Path) -> None:
    with api_process(settings, tmp_path, "127.0.0.1") as url:
        assert httpx.get(f"{url}/searches").status_code == 200
