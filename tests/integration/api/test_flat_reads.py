"""Reads that no longer count or sort a search's rows: ETags from versions, the search's metric sorted on
its own column, cross-search sorts that merge two orders, and the streamed CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from app.services.exports import trials_csv
from app.services.trial_runs import claim_trial, record_epoch
from app.settings import Settings
from app.storage.db import read_session_scope, session_scope
from tests.integration.api.results import queued_search, record
from tests.integration.api.test_listing import every_page


def etag(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def test_the_search_etag_changes_with_every_trial_transition_and_not_with_heartbeats(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 2)
    path = f"/searches/{search_id}"
    first = etag(client, path)
    assert client.get(path, headers={"If-None-Match": first}).status_code == 304
    with session_scope(settings.database_url) as session:
        run = claim_trial(session, trials[0]["id"], "w1")
    assert run is not None
    claimed = etag(client, path)
    assert claimed != first
    with session_scope(settings.database_url) as session:  # an epoch report renews the lease only
        record_epoch(session, run, 1, {"dev_accuracy": 0.5}, {1: 0.5})
    assert client.get(path, headers={"If-None-Match": claimed}).status_code == 304
    assert (
        client.get(f"{path}/trials", headers={"If-None-Match": etag(client, f"{path}/trials")}).status_code
        == 304
    )


def test_a_trial_list_etag_changes_when_a_trial_finishes(client: TestClient, settings: Settings) -> None:
    search_id, trials = queued_search(client, 2)
    for path in (f"/searches/{search_id}/trials", "/trials?objective=mlp", f"/trials?search_id={search_id}"):
        before = etag(client, path)
        assert client.get(path, headers={"If-None-Match": before}).status_code == 304
    befores = {
        path: etag(client, path) for path in (f"/searches/{search_id}/trials", "/trials?objective=mlp")
    }
    record(settings, trials[0]["id"], metrics={"dev_accuracy": 0.7}, value=0.7)
    for path, before in befores.items():
        assert client.get(path, headers={"If-None-Match": before}).status_code == 200


def test_a_pruned_trial_sorts_by_the_metric_it_last_reported_though_its_value_is_null(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 3)
    record(settings, trials[0]["id"], metrics={"dev_accuracy": 0.6}, value=0.6)
    record(settings, trials[1]["id"], state="pruned", metrics={"dev_accuracy": 0.8})
    listed = every_page(client, f"/searches/{search_id}/trials", sort="-dev_accuracy", limit=1)
    assert [t["id"] for t in listed] == [trials[1]["id"], trials[0]["id"], trials[2]["id"]]
    assert listed[0]["value"] is None


def test_a_sort_across_searches_with_different_metrics_merges_both_orders_page_by_page(
    client: TestClient, settings: Settings
) -> None:
    """`train_cost` is one search's metric (its own column) and the other's reported extra (its JSON)."""
    own_id, own = queued_search(client, 3, metric="train_cost", direction="minimize")
    other_id, other = queued_search(client, 3)
    costs = {own[0]["id"]: 0.3, own[1]["id"]: 0.1, other[0]["id"]: 0.2, other[1]["id"]: 0.3}
    for trial_id, cost in costs.items():
        record(settings, trial_id, metrics={"dev_accuracy": 1 - cost, "train_cost": cost}, value=cost)
    listed = every_page(client, "/trials", objective="mlp", sort="train_cost", limit=2)
    expected = sorted(costs, key=lambda trial_id: (costs[trial_id], trial_id))
    unsorted = sorted(t["id"] for t in (*own, *other) if t["id"] not in costs)
    assert [t["id"] for t in listed] == expected + unsorted
    assert {t["search_id"] for t in listed} == {own_id, other_id}


def test_pages_by_the_search_metric_with_many_ties_hold_every_trial_once_in_id_order(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 7)
    for trial in trials[:5]:
        record(settings, trial["id"], metrics={"dev_accuracy": 0.5}, value=0.5)
    listed = every_page(client, f"/searches/{search_id}/trials", sort="-dev_accuracy", limit=2)
    assert [t["id"] for t in listed] == [t["id"] for t in trials]


def test_the_csv_export_streams_every_row_in_order_in_chunks(client: TestClient, settings: Settings) -> None:
    search_id, trials = queued_search(client, 5)
    record(settings, trials[3]["id"], metrics={"dev_accuracy": 0.75, "extra": 1.5}, value=0.75)
    with read_session_scope(settings.database_url) as session:
        chunks = list(trials_csv(session, search_id, rows_per_chunk=2))
    assert len(chunks) == 3
    rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [int(row["number"]) for row in rows] == [0, 1, 2, 3, 4]
    assert rows[3]["metrics_extra"] == "1.5" and rows[0]["metrics_extra"] == ""
    assert "".join(chunks) == client.get(f"/searches/{search_id}/trials.csv").text
