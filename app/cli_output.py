"""Machine-readable output of `caviar trials`: JSON lines, or CSV with the columns of GET …/trials.csv
but its three timestamps."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

OutputFormat = Literal["table", "json", "csv"]
CSV_COLUMNS = ("id", "number", "state", "value", "round", "attempt", "pruned_step", "error", "worker_id")


def metric_names(trials: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({name for trial in trials for name in trial.get("metrics") or {}})


def json_lines(records: Sequence[dict[str, Any]]) -> str:
    """One JSON object per line (jq- and pandas.read_json(lines=True)-friendly)."""
    return "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)


def trials_csv_text(trials: Sequence[dict[str, Any]]) -> str:
    """Fixed columns, then `params_<name>` and `metrics_<name>` columns; full float precision."""
    params = sorted({name for trial in trials for name in trial["params"]})
    metrics = metric_names(trials)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(f"params_{n}" for n in params), *(f"metrics_{n}" for n in metrics)])
    for trial in trials:
        final = trial.get("metrics") or {}
        writer.writerow(
            [
                *(_exact(trial.get(column)) for column in CSV_COLUMNS),
                *(_exact(trial["params"].get(name)) for name in params),
                *(_exact(final.get(name)) for name in metrics),
            ]
        )
    return buffer.getvalue()


def _exact(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)
