"""`caviar submit --wait` on a search whose every trial fails: the search ends failed, the CLI exits 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.settings import Settings
from tests.integration.live_server import serve
from workers.worker import run_worker


def test_submit_wait_prints_the_first_error_and_exits_non_zero_when_every_trial_failed(
    settings: Settings, tmp_path: Path
) -> None:
    # (1e200 - 0.5)² overflows: every trial fails with an OverflowError.
    spec = {
        "objective": "quadratic",
        "metric": "loss",
        "direction": "minimize",
        "space": {"x": 1e200, "y": {"type": "float", "low": 0.0, "high": 1.0}},
        "budget": {"max_trials": 3, "max_parallel": 3},
    }
    spec_file = tmp_path / "failing.json"
    spec_file.write_text(json.dumps(spec))
    with serve(settings) as url:
        command = [sys.executable, "-m", "app.cli", "submit", str(spec_file), "--wait", "--api-url", url]
        env = {**os.environ, "COLUMNS": "300"}  # one line per message
        cli = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        deadline = time.monotonic() + 60
        while not httpx.get(f"{url}/searches").json()["items"]:
            assert time.monotonic() < deadline and cli.poll() is None, cli.communicate()[0]
            time.sleep(0.1)
        run_worker(settings, burst=True)
        output, _ = cli.communicate(timeout=60)
        search = httpx.get(f"{url}/searches").json()["items"][0]
    assert search["state"] == "failed"
    assert cli.returncode == 1, output
    assert "no trial completed; first error: trial" in output and "OverflowError" in output
