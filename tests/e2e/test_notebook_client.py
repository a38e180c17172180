"""examples/notebook_client.py against a live stack: submit, watch live, print the best five."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.integration.helpers import quick_spec

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "notebook_client.py"


def test_notebook_script_follows_a_search_and_prints_the_best_five(stack: Stack, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(quick_spec(budget={"max_trials": 6, "max_parallel": 3})))
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), "--api-url", stack.api_url, "--spec", str(spec_file)],
        capture_output=True,
        text=True,
        timeout=240,
        env=stack.env,
    )
    assert finished.returncode == 0, finished.stderr + stack.logs()
    lines = finished.stdout.splitlines()
    assert [line for line in lines if re.match(r"\[\s*\d+/6\] trial \d+ completed", line)][-1].startswith(
        "[  6/6]"
    )
    assert "search completed" in lines
    ranked = [line for line in lines if re.match(r"\s+\d\. dev_accuracy=", line)]
    assert len(ranked) == 5
    values = [float(re.search(r"dev_accuracy=([\d.]+)", line).group(1)) for line in ranked]  # type: ignore[union-attr]
    assert values == sorted(values, reverse=True)
    assert any(line.startswith("best ever on digits") for line in lines)
