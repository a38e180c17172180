"""A search's trials as a CSV table: one row per trial, its parameters and final metrics as columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.storage.models import Trial
from app.storage.repositories import SearchRepository, TrialRepository

FIXED_COLUMNS = (
    "id",
    "number",
    "state",
    "value",
    "round",
    "attempt",
    "pruned_step",
    "error",
    "worker_id",
    "created_at",
    "started_at",
    "finished_at",
)
PARAM_PREFIX = "params_"
METRIC_PREFIX = "metrics_"


def trials_csv(session: Session, search_id: int, *, states: Sequence[str] = ()) -> Iterator[str]:
    """CSV lines (header first) of the search's trials in creation order.

    Parameters become `params_<name>` columns and final metrics `metrics_<name>` columns, so they never
    collide with the fixed columns; a trial without one leaves the cell empty (NaN in pandas).
    """
    if SearchRepository(session).get(search_id) is None:
        raise NotFound(f"search {search_id} does not exist")
    trials = [t for t in TrialRepository(session).of_search(search_id) if not states or t.state in states]
    return _csv_lines(trials)


def _csv_lines(trials: Sequence[Trial]) -> Iterator[str]:
    param_names = sorted({name for trial in trials for name in trial.params})
    metric_names = sorted({name for trial in trials for name in trial.metrics or {}})
    header = [
        *FIXED_COLUMNS,
        *(PARAM_PREFIX + name for name in param_names),
        *(METRIC_PREFIX + name for name in metric_names),
    ]
    yield _line(header)
    for trial in trials:
        metrics = trial.metrics or {}
        yield _line(
            [
                *(_cell(getattr(trial, column)) for column in FIXED_COLUMNS),
                *(_cell(trial.params.get(name)) for name in param_names),
                *(_cell(metrics.get(name)) for name in metric_names),
            ]
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()
