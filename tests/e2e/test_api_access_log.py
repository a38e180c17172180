"""`caviar api` logs a line per request (uvicorn's access log), written by a plain handler."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.settings import Settings
from tests.e2e.test_api_keys_bind import api_process


def test_the_api_logs_each_request_on_one_plain_line(settings: Settings, tmp_path: Path) -> None:
    with api_process(settings, tmp_path, "127.0.0.1") as url:
        assert httpx.get(f"{url}/searches?limit=7").status_code == 200
    log = (tmp_path / "api-127.0.0.1.log").read_text()
    lines = [line for line in log.splitlines() if "GET /searches?limit=7" in line]
    assert len(lines) == 1, log
    assert "INFO" in lines[0] and "uvicorn.access: " in lines[0] and '" 200' in lines[0]
