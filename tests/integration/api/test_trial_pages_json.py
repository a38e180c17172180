"""Pages of trials are byte for byte what pydantic's `TrialOut` writes for the same trials, for tricky
values on both databases: however a page is built, a client reads the same JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.schemas import TrialOut
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial
from tests.integration.api.results import queued_search
from tests.integration.api.test_exports_bytes import TIMES, TRICKY_PARAMS, VALUES

METRICS: list[dict[str, Any] | None] = [
    {"dev_accuracy": 0.30000000000000004, "epochs": 3.0, "dev_cost": 1e-05},
    {"dev_accuracy": 5e-324, "epochs": 1, "dev_cost": 2**64},
    None,
    {"dev_accuracy": None, "dev_cost": 0.5},
    {},
    {"dev_accuracy": 1.7976931348623157e308, "epochs": True, "dev_cost": -0.0},
]
"""Final metrics `TrialOut` accepts; an int or a bool it writes as a float (`1.0`)."""


def tricky_search(client: TestClient, settings: Settings, **spec_changes: Any) -> int:
    """A search of six trials holding the values above, one a branch of another; its id."""
    search_id, queued = queued_search(client, len(TRICKY_PARAMS), **spec_changes)
    ids = [trial["id"] for trial in queued]
    with session_scope(settings.database_url) as session:
        for index, trial_id in enumerate(ids):
            trial = session.get(Trial, trial_id)
            assert trial is not None
            trial.params = TRICKY_PARAMS[index]
            trial.metrics = METRICS[index]
            trial.metric_value = (METRICS[index] or {}).get(spec_changes.get("metric", "dev_accuracy"))
            trial.value = VALUES[index]
            trial.round = index % 3 or None
            trial.error = 'Traceback:\n  "boom", \u2028 here\x01' if index % 2 else None
            trial.worker_id = f"host-{index},ü" if index % 3 else None
            trial.pruned_step = index * 7 if index % 2 else None
            trial.attempt = index
            trial.created_at = TIMES[index] or TIMES[0]
            trial.started_at = TIMES[index]
            trial.finished_at = TIMES[-1 - index]
            trial.updated_at = TIMES[-1 - index] or TIMES[0]
            if index == 4:
                trial.parent_trial_id, trial.branch_step = ids[0], 3
                trial.branch_params = {"learning_rate": 0.001, "note": "é"}
    return search_id


def expected_page(settings: Settings, ids: list[int], next_cursor: str | None) -> bytes:
    """The page of trials `ids` as `Page[TrialOut]` writes it, from ORM trials."""
    with session_scope(settings.database_url) as session:
        by_id = {trial.id: trial for trial in session.scalars(select(Trial).where(Trial.id.in_(ids)))}
        items = [TrialOut.model_validate(by_id[trial_id]).model_dump_json() for trial_id in ids]
    return f'{{"items":[{",".join(items)}],"next_cursor":{json.dumps(next_cursor)}}}'.encode()


def assert_pages_written_as_trial_out(
    client: TestClient, settings: Settings, path: str, params: dict[str, Any]
) -> int:
    """Every page of `path` is the exact bytes of `expected_page`; returns how many trials were listed."""
    listed, cursor = 0, None
    while True:
        response = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        ids = [item["id"] for item in page["items"]]
        assert response.content == expected_page(settings, ids, page["next_cursor"])
        listed += len(ids)
        cursor = page["next_cursor"]
        if cursor is None:
            return listed


def test_a_search_page_sorted_by_its_metric_is_written_as_trial_out(
    client: TestClient, settings: Settings
) -> None:
    search_id = tricky_search(client, settings)
    for sort in ("-dev_accuracy", "dev_accuracy", "number", "-finished_at"):
        listed = assert_pages_written_as_trial_out(
            client, settings, f"/searches/{search_id}/trials", {"sort": sort, "limit": 4}
        )
        assert listed == len(TRICKY_PARAMS)


def test_a_cross_search_page_sorted_by_a_metric_is_written_as_trial_out(
    client: TestClient, settings: Settings
) -> None:
    """Trials of a search whose metric it is (its column) and of one whose metric is another (the JSON)."""
    tricky_search(client, settings)
    tricky_search(client, settings, metric="dev_cost", direction="minimize")
    for sort in ("-dev_accuracy", "dev_cost"):
        listed = assert_pages_written_as_trial_out(
            client, settings, "/trials", {"sort": sort, "objective": "mlp", "limit": 5}
        )
        assert listed == 2 * len(TRICKY_PARAMS)


def test_a_listed_trial_is_this_json(client: TestClient, settings: Settings) -> None:
    """The JSON of one plain trial, written out: the field order, `Z` timestamps, floats as floats."""
    search_id, (queued,) = queued_search(client, 1)
    with session_scope(settings.database_url) as session:
        trial = session.get(Trial, queued["id"])
        assert trial is not None
        trial.params = {"optimizer": "adam", "hidden_units": 32, "learning_rate": 0.01}  # PostgreSQL's order
        trial.metrics, trial.metric_value, trial.value = {"dev_accuracy": 0.5, "epochs": 3.0}, 0.5, 0.5
        trial.state, trial.attempt, trial.worker_id = "completed", 1, "w1"
        trial.created_at = datetime(2026, 12, 1, 9, 30, 0, tzinfo=UTC)
        trial.started_at = datetime(2026, 12, 1, 9, 30, 1, 250000, tzinfo=UTC)
        trial.finished_at = trial.updated_at = datetime(2026, 12, 1, 9, 30, 2, 7, tzinfo=UTC)
    item = (
        f'{{"id":{queued["id"]},"search_id":{search_id},"number":0,"round":null,"state":"completed",'
        '"params":{"optimizer":"adam","hidden_units":32,"learning_rate":0.01},"value":0.5,'
        '"metrics":{"dev_accuracy":0.5,"epochs":3.0},"error":null,"pruned_step":null,"attempt":1,'
        '"worker_id":"w1","parent_trial_id":null,"branch_step":null,"branch_params":null,'
        '"created_at":"2026-12-01T09:30:00Z","started_at":"2026-12-01T09:30:01.250000Z",'
        '"finished_at":"2026-12-01T09:30:02.000007Z","updated_at":"2026-12-01T09:30:02.000007Z"}'
    )
    for path in (f"/searches/{search_id}/trials?sort=-dev_accuracy", "/trials?sort=-dev_accuracy"):
        assert client.get(path).text == f'{{"items":[{item}],"next_cursor":null}}'
