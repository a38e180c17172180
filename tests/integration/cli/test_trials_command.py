"""`caviar trials SEARCH_ID`: a table, JSON lines or CSV, through the client against a live API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.settings import Settings
from caviar import CaviarClient
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve
from workers.worker import run_worker


@pytest.fixture
def finished_search(settings: Settings) -> Iterator[tuple[str, int]]:
    with serve(settings) as url:
        with CaviarClient(url) as client:
            search_id = client.submit(quick_spec())["id"]
        run_worker(settings, burst=True)
        yield url, search_id


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["trials", *args, "--api-url", url])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_format_prints_one_trial_per_line_in_the_requested_order(
    finished_search: tuple[str, int],
) -> None:
    url, search_id = finished_search
    trials = [
        json.loads(line) for line in run(url, str(search_id), "-f", "json", "--sort", "-value").splitlines()
    ]
    values = [trial["value"] for trial in trials]
    assert len(trials) == 4
    assert values == sorted(values, reverse=True)


def test_csv_format_has_param_and_metric_columns(finished_search: tuple[str, int]) -> None:
    url, search_id = finished_search
    rows = list(csv.DictReader(io.StringIO(run(url, str(search_id), "--format", "csv", "--limit", "2"))))
    assert len(rows) == 2
    assert {"params_learning_rate", "metrics_dev_accuracy", "state", "value"} <= set(rows[0])
    assert float(rows[0]["metrics_dev_accuracy"]) == float(rows[0]["value"])


def test_table_format_shows_states_and_metrics(finished_search: tuple[str, int]) -> None:
    url, search_id = finished_search
    output = run(url, str(search_id), "--state", "completed")
    assert f"trials of search {search_id}" in output
    assert "dev_accuracy" in output
    assert output.count("completed") == 4


def test_unknown_search_exits_1_with_the_error(finished_search: tuple[str, int]) -> None:
    url, _ = finished_search
    result = CliRunner().invoke(app, ["trials", "999", "--api-url", url])
    assert result.exit_code == 1
    assert "not_found" in result.output
