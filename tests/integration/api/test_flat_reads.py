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
from app.storage.db import get_engine, read_session_scope, session_scope, statements_sent
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


def selects(sent: list[str]) -> list[str]:
    """The SELECT statements among those sent (not SQLite's BEGIN)."""
    return [statement for statement in sent if statement.lstrip().upper().startswith("SELECT")]


def test_a_poll_reads_the_search_once_with_its_counters(client: TestClient, settings: Settings) -> None:
    """A search, its counters, the live workers (for `waiting`), its best trial: 3 queries, 2 for a 304;
    a page of its trials (all keyed: no second query for NULLs): the search and the page."""
    search_id, trials = queued_search(client, 3)
    record(settings, trials[0]["id"], metrics={"dev_accuracy": 0.7}, value=0.7)
    record(settings, trials[1]["id"], metrics={"dev_accuracy": 0.6}, value=0.6)
    path = f"/searches/{search_id}"
    current = etag(client, path)
    with statements_sent(settings.database_url) as detail:
        assert client.get(path).json()["best"]["id"] == trials[0]["id"]
    with statements_sent(settings.database_url) as not_modified:
        assert client.get(path, headers={"If-None-Match": current}).status_code == 304
    with statements_sent(settings.database_url) as page:
        listed = client.get(f"{path}/trials", params={"sort": "-dev_accuracy", "limit": 1}).json()
    assert [trial["id"] for trial in listed["items"]] == [trials[0]["id"]] and listed["next_cursor"]
    counted = (selects(detail), selects(not_modified), selects(page))
    assert tuple(map(len, counted)) == (3, 2, 2), counted


def test_a_read_gives_its_connection_back_before_answering_whatever_the_answer(
    client: TestClient, settings: Settings
) -> None:
    """The read session is opened on the event loop and closed in a thread (app/api/deps.py): after a
    200, a 304 and a 404 alike, no connection is left checked out of the pool."""
    search_id, _ = queued_search(client, 1)
    path = f"/searches/{search_id}"
    pool = get_engine(settings.database_url).pool
    answers = [
        client.get(path).status_code,
        client.get(path, headers={"If-None-Match": etag(client, path)}).status_code,
        client.get("/searches/999999").status_code,
        client.get(f"{path}/trials", params={"cursor": "not-a-cursor"}).status_code,
    ]
    assert answers == [200, 304, 404, 422]
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


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
