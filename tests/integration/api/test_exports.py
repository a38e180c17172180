"""GET /searches/{id}/trials.csv: one row per trial, params and final metrics as columns."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.integration.api.results import queued_search, record


def test_csv_has_a_row_per_trial_with_params_and_final_metrics_as_columns(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 3)
    record(settings, trials[0]["id"], metrics={"dev_accuracy": 0.8125, "train_cost": 0.1}, value=0.8125)
    record(settings, trials[1]["id"], state="failed")
    response = client.get(f"/searches/{search_id}/trials.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"search-{search_id}-trials.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["number"] for row in rows] == ["0", "1", "2"]
    assert [row["state"] for row in rows] == ["completed", "failed", "queued"]
    assert rows[0]["value"] == "0.8125"
    assert float(rows[0]["metrics_dev_accuracy"]) == 0.8125
    assert rows[1]["metrics_dev_accuracy"] == ""
    for row, trial in zip(rows, trials, strict=True):
        assert float(row["params_learning_rate"]) == trial["params"]["learning_rate"]
        assert row["params_optimizer"] == "adam"


def test_csv_filters_by_state(client: TestClient, settings: Settings) -> None:
    search_id, trials = queued_search(client, 3)
    record(settings, trials[2]["id"], metrics={"dev_accuracy": 0.5}, value=0.5)
    text = client.get(f"/searches/{search_id}/trials.csv", params={"state": "completed"}).text
    assert [row["id"] for row in csv.DictReader(io.StringIO(text))] == [str(trials[2]["id"])]


def test_csv_of_an_unknown_search_is_404(client: TestClient) -> None:
    assert client.get("/searches/999/trials.csv").json()["error"]["code"] == "not_found"
