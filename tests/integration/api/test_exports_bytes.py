"""GET /searches/{id}/trials.csv is byte for byte what the first, plain Python export wrote, for tricky
values on both databases: the fast paths must not change a single cell."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.services.exports import FIXED_COLUMNS, METRIC_PREFIX, PARAM_PREFIX
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial
from tests.integration.api.results import queued_search

TRICKY_PARAMS: list[dict[str, Any]] = [
    {"lr": 0.1, "tiny": 1e-300, "huge": 1e300, "big": 2**70, "text": 'a,b "c"\nd\re', "flag": True},
    {"lr": 1e16, "tiny": -0.0, "huge": 100.0, "big": -(2**63), "text": "ünïcödé ✓ 😀", "flag": False},
    {"lr": 3, "nested": {"b": [1, 2.5, None], "a": "é"}, "text": "", "none": None},
    {"lr": 1e-05, "nested": [{"z": 1, "y": "x,y"}], "text": " leading space", "only_here": "\\."},
    {"lr": 123456789012345678.0, "text": "\\N"},
    {},
]
TRICKY_METRICS: list[dict[str, Any] | None] = [
    {"loss": 0.30000000000000004, "acc": 1, "note": "x\ny"},
    {"loss": 5e-324, "acc": 2**64},
    None,
    {"loss": None, "nested": {"k": [1]}},
    {},
    {"loss": 1.7976931348623157e308},
]
VALUES = [0.1, float("inf"), float("-inf"), float("nan"), None, 1e-300]
STATES = ["completed", "failed", "pruned", "cancelled", "running", "queued"]
TIMES = [
    datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 24, 10, 0, 0, 500000, tzinfo=UTC),
    datetime(2026, 11, 24, 10, 0, 0, 7, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    None,
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]
NUDGES: list[list[dict[str, Any]] | None] = [
    None,
    [{"step": 3, "changes": {"lr": {"old": 0.1, "new": 0.05}}, "by": 'ü,"x"', "at": "t"}],
    [],
    None,
    [{"step": 1, "changes": {}}],
    None,
]


def reference_csv(trials: list[Trial]) -> str:
    """The export as the first implementation wrote it, over ORM trials (kept here as the definition)."""

    def cell(value: Any) -> Any:
        return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value

    param_names = sorted(
        {name for trial in trials if isinstance(trial.params, dict) for name in trial.params}
    )
    metric_names = sorted(
        {name for trial in trials if isinstance(trial.metrics, dict) for name in trial.metrics}
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [*FIXED_COLUMNS, *(PARAM_PREFIX + n for n in param_names), *(METRIC_PREFIX + n for n in metric_names)]
    )
    for trial in trials:
        cells = [getattr(trial, name) for name in FIXED_COLUMNS]
        cells = [value.isoformat() if isinstance(value, datetime) else value for value in cells]
        cells[FIXED_COLUMNS.index("nudges")] = cell(trial.nudges)
        cells += [cell(trial.params.get(name)) for name in param_names]
        cells += [(trial.metrics or {}).get(name) for name in metric_names]
        writer.writerow(cells)
    return buffer.getvalue()


def test_csv_is_byte_identical_to_the_reference_for_tricky_values(
    client: TestClient, settings: Settings
) -> None:
    search_id, queued = queued_search(client, len(TRICKY_PARAMS))
    with session_scope(settings.database_url) as session:
        for index, trial_id in enumerate(trial["id"] for trial in queued):
            trial = session.get(Trial, trial_id)
            assert trial is not None
            trial.params = TRICKY_PARAMS[index]
            trial.metrics = TRICKY_METRICS[index]
            trial.value = VALUES[index]
            trial.state = STATES[index]
            trial.error = 'Traceback:\n  "boom", here' if index % 2 else None
            trial.worker_id = f"host-{index},ü" if index % 3 else None
            trial.created_at = TIMES[index] or TIMES[0]
            trial.started_at = TIMES[index]
            trial.finished_at = TIMES[-1 - index]
            trial.nudges = NUDGES[index]
            trial.pruned_step = index * 7 if index % 2 else None
    with session_scope(settings.database_url) as session:
        trials = list(
            session.scalars(select(Trial).where(Trial.search_id == search_id).order_by(Trial.number))
        )
        expected = reference_csv(trials)
        expected_pruned = reference_csv([trial for trial in trials if trial.state == "pruned"])

    response = client.get(f"/searches/{search_id}/trials.csv")
    assert response.status_code == 200
    assert response.content.decode() == expected
    pruned = client.get(f"/searches/{search_id}/trials.csv", params={"state": "pruned"})
    assert pruned.content.decode() == expected_pruned
