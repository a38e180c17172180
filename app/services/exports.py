"""A search's trials as a CSV table: one row per trial, its parameters and final metrics as columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.storage.json_text import loads
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
    "nudges",
    "parent_trial_id",
    "branch_step",
    "branch_params",
)
_JSON_COLUMNS = (FIXED_COLUMNS.index("nudges"), FIXED_COLUMNS.index("branch_params"))
PARAM_PREFIX = "params_"
METRIC_PREFIX = "metrics_"


def trials_csv(
    session: Session, search_id: int, *, states: Sequence[str] = (), rows_per_chunk: int = 5000
) -> Iterator[str]:
    """CSV text (header first) of the search's trials in creation order, `rows_per_chunk` rows a chunk.

    `nudges` holds the live changes a trial applied, as JSON (see GET /trials/{id}); empty if none. A
    branch names its parent and step in `parent_trial_id` and `branch_step`, and `branch_params` holds the
    hyperparameters it changed, as JSON (empty for other trials).
    Parameters become `params_<name>` columns and final metrics `metrics_<name>` columns, so they never
    collide with the fixed columns; a trial without one leaves the cell empty (NaN in pandas). The
    names are gathered by the database first; the rows then come through a server-side cursor, so
    memory stays the same whatever the size of the search.
    """
    if SearchRepository(session).get(search_id) is None:
        raise NotFound(f"search {search_id} does not exist")
    trials = TrialRepository(session)
    param_names = trials.key_names(search_id, "params", states)
    metric_names = trials.key_names(search_id, "metrics", states)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            *FIXED_COLUMNS,
            *(PARAM_PREFIX + name for name in param_names),
            *(METRIC_PREFIX + name for name in metric_names),
        ]
    )
    chunk: list[list[Any]] = []
    for row in trials.export_rows(search_id, FIXED_COLUMNS, states):
        # The database wrote the timestamps; the csv module writes None as an empty cell, and numbers and
        # strings as str() does: only JSON needs decoding, and nested values dumping (the hot loop of a
        # million-row export).
        cells = list(row[:-2])
        for index in _JSON_COLUMNS:
            if cells[index] is not None:
                cells[index] = _cell(loads(cells[index]))
        params_text = row[-2]
        params = loads(params_text)
        # Only a nested value (a brace past the object's own, or a bracket) needs `_cell`; most rows skip it.
        if params_text.find("{", 1) != -1 or "[" in params_text:
            cells += [_cell(params.get(name)) for name in param_names]
        else:
            cells += map(params.get, param_names)
        cells += map((loads(row[-1]) or {}).get, metric_names)
        chunk.append(cells)
        if len(chunk) == rows_per_chunk:
            writer.writerows(chunk)
            chunk.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    writer.writerows(chunk)
    yield buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
