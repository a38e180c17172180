"""Every client command of `caviar` against a live API: searches, datasets, workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from app.cli import app
from app.services.trial_runs import claim_trial
from app.settings import Settings
from app.storage.db import session_scope
from caviar import CaviarClient
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve
from workers.worker import run_worker

SIX_TRIALS = {"max_trials": 6, "max_parallel": 3}  # importance needs five completed trials


@pytest.fixture
def api(settings: Settings) -> Iterator[str]:
    with serve(settings) as url:
        yield url


@pytest.fixture
def finished(api: str, settings: Settings) -> int:
    with CaviarClient(api) as client:
        search_id: int = client.submit(quick_spec(budget=SIX_TRIALS))["id"]
    run_worker(settings, burst=True)
    return search_id


def caviar(url: str, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [*args, "--api-url", url])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def test_searches_lists_the_search_and_show_tells_its_state_and_best(api: str, finished: int) -> None:
    listed = [json.loads(line) for line in caviar(api, "searches", "-f", "json").stdout.splitlines()]
    shown = caviar(api, "show", str(finished)).stdout
    assert [search["id"] for search in listed] == [finished]
    assert "completed 6 of 6" in shown
    assert f"search {finished}" in shown and "best" in shown


def test_cancel_stops_a_running_search(api: str) -> None:
    with CaviarClient(api) as client:
        search_id = client.submit(quick_spec())["id"]  # no worker runs: it stays running
    assert f"search {search_id} cancelled" in caviar(api, "cancel", str(search_id)).stdout
    again = caviar(api, "cancel", str(search_id))  # repeating it changes nothing
    assert f"search {search_id} cancelled" in again.stdout


def test_retest_creates_a_linked_search(api: str, finished: int) -> None:
    output = caviar(api, "retest", str(finished), "--top-k", "1", "--repeats", "2").stdout
    assert f"re-tests search {finished}" in output
    with CaviarClient(api) as client:
        newest = next(client.searches(limit=1))
    assert newest["parent_search_id"] == finished


def test_retest_wait_prints_mean_and_std_per_configuration(
    api: str, finished: int, settings: Settings
) -> None:
    with CaviarClient(api) as client:
        child = client.retest(finished, top_k=1, repeats=2)["id"]
    run_worker(settings, burst=True)
    output = caviar(api, "configurations", str(child)).stdout
    assert f"configurations of search {child}" in output
    assert "mean" in output and "std" in output and " 2 " in output


def test_importance_ranks_the_varying_parameters(api: str, finished: int) -> None:
    output = caviar(api, "importance", str(finished)).stdout
    assert "learning_rate" in output and "hidden_units" in output


def test_trial_shows_params_and_its_learning_curve(api: str, finished: int) -> None:
    with CaviarClient(api) as client:
        trial_id = next(client.trials(finished, limit=1))["id"]
    output = caviar(api, "trial", str(trial_id)).stdout
    assert "learning_rate" in output and "learning curve" in output
    assert "dev_accuracy" in output


def test_upload_then_datasets_lists_it(api: str, tmp_path: Path) -> None:
    rows = np.random.default_rng(0).normal(size=(20, 3))
    lines = ["a,b,c,label", *(f"{x:.3f},{y:.3f},{z:.3f},{i % 2}" for i, (x, y, z) in enumerate(rows))]
    csv_file = tmp_path / "toy.csv"
    csv_file.write_text("\n".join(lines) + "\n")
    uploaded = caviar(api, "upload", str(csv_file), "--name", "toy").stdout
    listed = caviar(api, "datasets").stdout
    assert "dataset toy: 20 rows, 3 features, 2 classes" in uploaded
    assert "digits" in listed and "toy" in listed


def test_workers_lists_the_worker_that_ran_the_trials(api: str, finished: int) -> None:
    workers = [json.loads(line) for line in caviar(api, "workers", "-f", "json").stdout.splitlines()]
    table = caviar(api, "workers").stdout
    assert len(workers) == 1 and "mlp" in workers[0]["objectives"]
    assert workers[0]["host"] in table


def test_a_spec_file_that_is_not_json_is_one_line_saying_where(api: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"dataset": "digits",\n "budget": }')
    result = caviar(api, "submit", str(broken), code=1)
    assert result.stderr.strip().count("\n") == 0
    assert "broken.json: not valid JSON" in result.stderr and "line 2" in result.stderr


def test_every_problem_of_a_spec_is_listed_on_one_line(api: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"space": {"x": 1}, "budget": {"max_trials": "many", "max_parallel": 0}}))
    result = caviar(api, "submit", str(spec), code=1)
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "budget.max_parallel: Input should be greater than or equal to 1" in result.stderr
    assert "budget.max_trials: Input should be a valid integer" in result.stderr


def test_nudge_asks_a_running_trial_for_new_hyperparameters(api: str, settings: Settings) -> None:
    with CaviarClient(api) as client:
        search_id = client.submit(quick_spec())["id"]  # no worker runs: its trials stay queued
        trial_id = next(client.trials(search_id))["id"]
    refused = caviar(api, "nudge", str(trial_id), "learning_rate=0.003", code=1)
    assert "409 conflict" in refused.stderr and "only a running trial" in refused.stderr
    with session_scope(settings.database_url) as session:
        claim_trial(session, trial_id, "worker-1")

    output = caviar(api, "nudge", str(trial_id), "learning_rate=0.003", "keep_prob=[0.9,0.8]").stdout

    assert f"trial {trial_id}" in output and "1 pending" in output
    with CaviarClient(api) as client:
        [pending] = client.trial(trial_id)["controls_pending"]
    assert pending["changes"] == {"learning_rate": 0.003, "keep_prob": [0.9, 0.8]}
    assert "write NAME=VALUE" in caviar(api, "nudge", str(trial_id), "learning_rate", code=1).stderr


def test_pause_resume_and_stop_a_trial_from_the_command_line(api: str, settings: Settings) -> None:
    with CaviarClient(api) as client:
        search_id = client.submit(quick_spec())["id"]  # no worker runs: its trials stay queued
        queued, running = [trial["id"] for trial in client.trials(search_id)]
    with session_scope(settings.database_url) as session:
        claim_trial(session, running, "worker-1")

    assert f"trial {queued} is paused" in caviar(api, "pause", str(queued)).stdout
    assert f"trial {queued} is paused" in caviar(api, "pause", str(queued)).stdout  # a repeat: the same
    assert f"trial {queued} is queued" in caviar(api, "resume", str(queued)).stdout
    refused = caviar(api, "stop", str(queued), code=1)
    assert "409 conflict" in refused.stderr and "only a running or paused trial" in refused.stderr
    paused_soon = caviar(api, "pause", str(running)).stdout
    assert f"trial {running} is running; it will pause after its current epoch" in paused_soon
    stopping = caviar(api, "stop", str(running)).stdout
    assert f"trial {running} is running; it will stop after its current epoch" in stopping
    with CaviarClient(api) as client:
        assert client.trial(running)["run_request"]["action"] == "stop"
