"""An objective package registered through the `caviar.objectives` entry point, run by real workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack, wait_finished

pytestmark = pytest.mark.slow

PACKAGE = Path(__file__).resolve().parents[2] / "examples" / "caviar-sklearn-objective"


@pytest.fixture(scope="session")
def sklearn_plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install` the example package into a directory of its own, as a worker machine would install
    it, without touching this virtualenv; the stack's processes get that directory on PYTHONPATH.
    Offline: setuptools comes from the dev extras, not from an isolated build environment."""
    site = tmp_path_factory.mktemp("plugin-site")
    # Built from a private copy: pip builds in the source tree (build/, *.egg-info), and each xdist
    # worker runs this fixture, possibly at the same moment.
    source = tmp_path_factory.mktemp("plugin-source") / PACKAGE.name
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-build-isolation",
        "--no-deps",
        "--no-cache-dir",
        "--target",
        str(site),
        str(source),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, f"installing the plugin failed:\n{completed.stdout}{completed.stderr}"
    return site


@pytest.fixture
def stack_extra_env(sklearn_plugin_site: Path) -> dict[str, str]:
    inherited = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join([str(sklearn_plugin_site), *([inherited] if inherited else [])])}


@pytest.fixture
def gbc_stack(stack: Stack) -> Stack:
    """The e2e stack with the plugin on its workers' path: wait until one advertises `gbc`."""
    deadline = time.monotonic() + 60
    while not any("gbc" in worker["objectives"] for worker in _live_workers(stack)):
        assert time.monotonic() < deadline, f"no worker advertised gbc:\n{stack.logs()}"
        time.sleep(0.2)
    return stack


def _live_workers(stack: Stack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = httpx.get(f"{stack.api_url}/workers", params={"alive": True}).json()[
        "items"
    ]
    return items


def submit_when_advertised(stack: Stack, spec: dict[str, Any]) -> httpx.Response:
    """POST the spec; on a loaded machine a worker's short test lease can lapse for a moment, and then
    its objectives are rightly not offered: try again until one of its heartbeats lands."""
    deadline = time.monotonic() + 30
    while True:
        response = httpx.post(f"{stack.api_url}/searches", json=spec)
        if response.status_code != 422 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def gbc_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "gbc on breast cancer",
        "objective": "gbc",
        "dataset": "breast_cancer",
        "metric": "dev_accuracy",
        "direction": "maximize",
        "space": {
            "n_estimators": {"type": "int", "low": 10, "high": 40},
            "learning_rate": {"type": "float", "low": 0.05, "high": 0.5, "scale": "log"},
            "max_depth": {"type": "int", "low": 1, "high": 3},
            "report_every": 5,
        },
        "strategy": {"kind": "random"},
        "budget": {"max_trials": 4, "max_parallel": 2},
        "seed": 11,
    }
    spec.update(changes)
    return spec


def test_search_on_a_plugin_objective_runs_to_completion_with_learning_curves(gbc_stack: Stack) -> None:
    created = submit_when_advertised(gbc_stack, gbc_spec())
    assert created.status_code == 201, created.text + gbc_stack.logs()
    search = wait_finished(gbc_stack, created.json()["id"])
    assert search["state"] == "completed", gbc_stack.logs()
    assert search["counts"]["completed"] == 4, gbc_stack.logs()
    best = search["best"]
    assert 0.8 < best["value"] <= 1.0
    assert set(best["metrics"]) == {"dev_accuracy", "train_accuracy"}
    curve = httpx.get(f"{gbc_stack.api_url}/trials/{best['id']}").json()["curve"]
    n_estimators = best["params"]["n_estimators"]
    assert [point["step"] for point in curve] == [*range(5, n_estimators, 5), n_estimators]


def test_an_objective_no_live_worker_advertises_is_422_naming_gbc(gbc_stack: Stack) -> None:
    response = httpx.post(f"{gbc_stack.api_url}/searches", json=gbc_spec(objective="lightgbm"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "objective"
    assert "gbc" in error["message"] and "mlp" in error["message"]
