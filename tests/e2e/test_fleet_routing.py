"""A fleet whose workers differ: only the workers with the plugin run its trials, and none fails for it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Stack, wait_finished
from tests.e2e.test_plugin_objective import gbc_spec, sklearn_plugin_site, submit_when_advertised

pytestmark = pytest.mark.slow
__all__ = ["sklearn_plugin_site"]  # the fixture, used by name


def test_every_trial_of_a_plugin_search_runs_on_a_worker_that_has_the_plugin(
    stack: Stack, sklearn_plugin_site: Path
) -> None:
    inherited = os.environ.get("PYTHONPATH")
    plugin_path = os.pathsep.join([str(sklearn_plugin_site), *([inherited] if inherited else [])])
    with_plugin = stack.start_worker({"PYTHONPATH": plugin_path})  # next to two workers without it
    deadline = time.monotonic() + 60
    while True:
        workers = httpx.get(f"{stack.api_url}/workers", params={"alive": True}).json()["items"]
        if len(workers) == 3 and any("gbc" in worker["objectives"] for worker in workers):
            break
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.2)
    spec = gbc_spec(budget={"max_trials": 6, "max_parallel": 3})
    spec["space"]["n_estimators"] = {"type": "int", "low": 5, "high": 10}
    created = submit_when_advertised(stack, spec)
    assert created.status_code == 201, created.text
    search = wait_finished(stack, created.json()["id"])
    trials = httpx.get(f"{stack.api_url}/searches/{search['id']}/trials").json()["items"]
    assert search["state"] == "completed", stack.logs()
    assert [trial["state"] for trial in trials] == ["completed"] * 6, stack.logs()
    assert {int(trial["worker_id"].split("-")[-2]) for trial in trials} == {with_plugin.pid}
