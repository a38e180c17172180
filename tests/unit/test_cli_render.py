"""CLI tables stay readable: no folded cell in an 80-column terminal, every column in a pipe."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from app.cli_render import records_table, trials_table

PARAMS = ("learning_rate", "hidden_units", "beta1", "n_layers", "optimizer", "batch_norm", "keep_prob")


def trial(number: int) -> dict[str, Any]:
    params = {
        "learning_rate": 0.001 * (number + 1),
        "hidden_units": 16 * (number + 1),
        "beta1": 0.9 + number / 100,
        "n_layers": number % 4 + 1,
        "optimizer": ("adam", "rmsprop", "momentum")[number % 3],
        "batch_norm": number % 2 == 0,
        "keep_prob": [0.5 + number / 10, 0.9, 0.8],
    }
    return {"number": number, "state": "completed", "value": 0.9 + number / 1000, "params": params}


def rendered(table: Any, width: int) -> list[str]:
    console = Console(width=width, force_terminal=True, color_system=None)
    with console.capture() as capture:
        console.print(table)
    return capture.get().splitlines()


def test_a_trials_table_fits_80_columns_without_folding_a_header() -> None:
    trials = [trial(number) for number in range(5)]
    lines = rendered(trials_table(trials, "dev_accuracy", "trials", width=80), 80)
    header = next(line for line in lines if "dev_accuracy" in line)
    assert max(len(line) for line in lines) <= 80
    assert "batch_norm" in header and "hidden_units" in header
    assert len([line for line in lines if line.strip().startswith(("0 ", "1 ", "2 "))]) == 3  # a line a row


def test_columns_left_out_of_a_narrow_table_are_named_in_its_caption() -> None:
    trials = [trial(number) for number in range(5)]
    text = "\n".join(rendered(trials_table(trials, "dev_accuracy", "trials", width=80), 80))
    shown = [name for name in PARAMS if name in text.split("not shown")[0]]
    hidden = text.split("not shown:")[1]
    assert shown and all(name in hidden for name in PARAMS if name not in shown)


def test_without_a_width_every_parameter_is_a_column() -> None:
    trials = [trial(number) for number in range(5)]
    lines = rendered(trials_table(trials, "dev_accuracy", "trials"), 10_000)
    header = next(line for line in lines if "dev_accuracy" in line)
    assert all(name in header for name in PARAMS)
    assert len([line for line in lines if line.strip()]) == 3 + 5  # title, header, rule; a line a trial


def test_a_list_gives_way_with_an_ellipsis_not_a_second_line() -> None:
    rows = [[7, "running", "mlp", "breast_cancer", "2026-11-30 16:20", "a rather long name " * 4]]
    columns = ("id", "state", "objective", "dataset", "created", "name")
    lines = rendered(records_table("searches", columns, rows, width=80), 80)
    assert max(len(line) for line in lines) <= 80
    assert sum("running" in line for line in lines) == 1
    assert "breast_cancer" in "".join(lines) and "2026-11-30 16:20" in "".join(lines)
    assert any("…" in line for line in lines)
