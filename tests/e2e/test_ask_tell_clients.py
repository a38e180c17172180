"""Ask/tell clients against a live API with no worker: the curl walkthrough in docs/api.md, word for
word; the POSIX sh example; the notebook-style Python loop. Each runs an external search to the end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH_MARKER = "<!-- ask-tell-walkthrough -->"


@pytest.fixture
def stack_worker_count() -> int:
    return 0  # external searches need none: that is the point


def walkthrough() -> str:
    """The shell block that follows the marker in docs/api.md, as written."""
    text = (ROOT / "docs" / "api.md").read_text()
    found = re.search(re.escape(WALKTHROUGH_MARKER) + r"\n```sh\n(.*?)\n```", text, re.S)
    assert found, "docs/api.md lost its ask/tell walkthrough"
    return found.group(1)


def only_search(stack: Stack) -> dict[str, object]:
    items = httpx.get(f"{stack.api_url}/searches").json()["items"]
    assert len(items) == 1
    search: dict[str, object] = httpx.get(f"{stack.api_url}/searches/{items[0]['id']}").json()
    return search


def run_shell(command: list[str], stack: Stack, cwd: Path) -> str:
    finished = subprocess.run(
        command, cwd=cwd, env={**stack.env, "API": stack.api_url}, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr + stack.logs()
    return finished.stdout


def test_the_curl_walkthrough_in_the_api_guide_runs_a_search_to_completion(
    stack: Stack, tmp_path: Path
) -> None:
    output = run_shell(["sh", "-euc", walkthrough()], stack, tmp_path)
    final = json.loads(output.strip().splitlines()[-1])
    assert final["state"] == "completed" and final["counts"]["completed"] == 5, output
    assert only_search(stack)["state"] == "completed"


def test_the_posix_sh_example_runs_a_search_to_completion(stack: Stack, tmp_path: Path) -> None:
    output = run_shell(["sh", str(ROOT / "examples" / "ask_tell.sh"), stack.api_url], stack, tmp_path)
    final = json.loads(output.strip().splitlines()[-1])
    assert final["state"] == "completed", output
    search = only_search(stack)
    counts = search["counts"]
    assert isinstance(counts, dict)
    assert counts["completed"] + counts["pruned"] == 8 and counts["completed"] >= 1


def test_the_notebook_optimize_example_runs_a_search_to_completion(stack: Stack, tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "examples" / "notebook_optimize.py"), "--api-url", stack.api_url]
    lines = run_shell(command, stack, tmp_path).splitlines()
    assert "search completed" in lines
    assert any(line.startswith("best loss=") for line in lines)
    search = only_search(stack)
    counts = search["counts"]
    assert isinstance(counts, dict)
    assert counts["completed"] + counts["pruned"] == 12 and counts["failed"] == 0
