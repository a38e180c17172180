"""`caviar watch TRIAL` on a live API and a real worker: the curve as it grows, a nudge typed on stdin."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from typer.testing import CliRunner, Result

from app.cli import app
from app.settings import Settings
from caviar import CaviarClient
from tests.integration.helpers import LONG_TRIAL, quick_spec
from tests.integration.live_server import serve
from workers.worker import run_worker

EPOCHS = 6
STALL = 1e-12
GIVE_UP_STEP = 500
"""Should the nudge never be applied, the search is cancelled at this step, so the test fails, not hangs."""


def watch(url: str, trial_id: int, *options: str, typed: str | None = None) -> Result:
    return CliRunner().invoke(app, ["watch", str(trial_id), *options, "--api-url", url], input=typed)


def in_thread(target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def test_watch_draws_the_growing_curve_and_prints_the_final_value(settings: Settings) -> None:
    spec = quick_spec(budget={"max_trials": 1, "max_parallel": 1})
    spec["space"]["epochs"] = EPOCHS
    results: list[Result] = []
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(spec)["id"]
        trial_id = next(client.trials(search_id))["id"]
        watcher = in_thread(lambda: results.append(watch(url, trial_id, "--no-prompt")))
        run_worker(settings, burst=True)  # in the main thread: RQ installs signal handlers
        watcher.join(timeout=120)
        assert not watcher.is_alive(), "caviar watch did not end with the trial"
        final = client.trial(trial_id)

    [result] = results
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = result.stdout.splitlines()
    assert f"trial {trial_id} (search {search_id}) completed · attempt 1 · dev_accuracy" in rows
    assert any(row.endswith(f"1{' ' * (EPOCHS - 2)}{EPOCHS}") for row in rows)  # the step axis
    assert sum("│" in row for row in rows) >= 8  # the chart's rows
    assert rows[-1] == f"trial {trial_id} completed: dev_accuracy = {final['value']:.6g}"


def follow_and_watch(url: str, search_id: int, trial_id: int, results: list[Result]) -> None:
    """Once the trial trains, run `caviar watch` on it with a nudge typed on its stdin."""
    with CaviarClient(url) as client:
        next(event for event in client.events(search_id) if event["kind"] == "epoch")
    results.append(watch(url, trial_id, typed=f"lr {STALL}\n"))


def cancel_once_nudged(url: str, search_id: int) -> None:
    """End the long trial once the nudge was applied (or, if it never is, long after)."""
    with CaviarClient(url) as client:
        for event in client.events(search_id):
            payload = event["payload"]
            if event["kind"] == "trial_nudged" or payload.get("step", 0) >= GIVE_UP_STEP:
                client.cancel(search_id)
                return


def test_a_nudge_typed_while_watching_is_applied_to_the_running_trial(settings: Settings) -> None:
    results: list[Result] = []
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(LONG_TRIAL)["id"]
        trial_id = next(client.trials(search_id))["id"]
        threads = [
            in_thread(follow_and_watch, url, search_id, trial_id, results),
            in_thread(cancel_once_nudged, url, search_id),
        ]
        run_worker(settings, burst=True)
        for thread in threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), "the event stream did not end"
        detail = client.trial(trial_id)

    [nudge] = detail["nudges"]
    assert nudge["changes"] == {"learning_rate": {"old": 0.5, "new": STALL}}
    [result] = results
    assert result.exit_code == 0, result.output
    assert f"lr {STALL}: accepted, applies from the next epoch" in result.stdout
    assert f"step {nudge['step']} ▲ learning_rate 0.5 → {STALL} (by anyone)" in result.stdout
    assert f"learning_rate={STALL}" in result.stdout  # the current hyperparameters
    assert f"trial {trial_id} cancelled" in result.stdout


def test_watch_of_an_unknown_trial_says_so_and_exits_1(settings: Settings) -> None:
    with serve(settings) as url:
        result = watch(url, 999_999, "--no-prompt")
    assert result.exit_code == 1
    assert "404" in result.stderr and "Traceback" not in result.output


def test_q_ends_the_watch_of_a_trial_still_waiting(settings: Settings) -> None:
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(quick_spec())["id"]  # no worker runs: its trials stay queued
        trial_id = next(client.trials(search_id))["id"]
        result = watch(url, trial_id, typed="lr 0.01\nq\n")
        client.cancel(search_id)  # ends the event stream the quitting command left open
    assert result.exit_code == 0, result.output
    assert "lr 0.01: refused: 409 conflict" in result.stdout
    assert f"trial {trial_id} queued: dev_accuracy = none" in result.stdout


def test_pause_and_resume_typed_while_watching_change_the_trial(settings: Settings) -> None:
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(quick_spec())["id"]  # no worker runs: its trials stay queued
        trial_id = next(client.trials(search_id))["id"]
        result = watch(url, trial_id, typed="pause\nresume\nq\n")
        state = client.trial(trial_id)["state"]
        client.cancel(search_id)  # ends the event stream the quitting command left open
    assert result.exit_code == 0, result.output
    assert f"pause: trial {trial_id} is paused" in result.stdout
    assert f"resume: trial {trial_id} is queued" in result.stdout
    assert state == "queued"


def test_panda_submits_one_model_and_watches_it_to_the_end(settings: Settings, tmp_path: Any) -> None:
    spec = quick_spec()
    del spec["strategy"], spec["budget"]  # `caviar panda` makes it a panda search of one model
    spec["space"].update(learning_rate=0.01, hidden_units=16, epochs=EPOCHS)
    spec_file = tmp_path / "panda.json"
    spec_file.write_text(json.dumps(spec))
    results: list[Result] = []
    with serve(settings) as url, CaviarClient(url) as client:
        command = ["panda", str(spec_file), "--no-prompt", "--api-url", url]
        panda = in_thread(lambda: results.append(CliRunner().invoke(app, command)))
        deadline = time.monotonic() + 60
        while not list(client.searches()) and time.monotonic() < deadline:
            time.sleep(0.05)
        run_worker(settings, burst=True)
        panda.join(timeout=120)
        assert not panda.is_alive(), "caviar panda did not end with its model"
        [summary] = list(client.searches())
        search = client.search(summary["id"])
        [trial] = list(client.trials(search["id"]))

    [result] = results
    assert result.exit_code == 0, result.output
    assert search["strategy"]["kind"] == "panda"
    assert f"search {search['id']}: babysitting trial {trial['id']}" in result.stdout
    assert (
        result.stdout.splitlines()[-1]
        == f"trial {trial['id']} completed: dev_accuracy = {trial['value']:.6g}"
    )


def test_panda_refuses_a_spec_of_another_strategy(settings: Settings, tmp_path: Any) -> None:
    spec_file = tmp_path / "random.json"
    spec_file.write_text(json.dumps(quick_spec()))
    with serve(settings) as url:
        result = CliRunner().invoke(app, ["panda", str(spec_file), "--api-url", url])
    assert result.exit_code == 1
    assert "runs panda searches" in result.stderr
