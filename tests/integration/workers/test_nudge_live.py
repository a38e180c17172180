"""Nudging a live trial through the real path: HTTP API, a real worker, the SSE feed, the trial and CSV."""

from __future__ import annotations

import csv
import io
import json
import threading
from typing import Any

from app.settings import Settings
from caviar import CaviarClient
from tests.integration.helpers import LONG_TRIAL
from tests.integration.live_server import serve
from workers.worker import run_worker

NUDGE_AT = 3
"""The epoch after whose report the test asks for the nudge (it takes effect a report or two later)."""
AFTER_NUDGE = 4
"""Epochs the test lets the nudged trial train before it cancels the search, so it ends soon."""
STALL = 1e-12


def follow_and_nudge(url: str, search_id: int, received: list[dict[str, Any]]) -> None:
    """Read the search's events; nudge its trial's learning rate to a stall after epoch NUDGE_AT, and cancel
    the search AFTER_NUDGE epochs after the nudge took effect."""
    nudged_step: int | None = None
    with CaviarClient(url) as client:
        for event in client.events(search_id):
            received.append(event)
            payload = event["payload"]
            if event["kind"] == "epoch" and payload["step"] == NUDGE_AT:
                client.nudge(event["trial_id"], learning_rate=STALL)
            if event["kind"] == "trial_nudged":
                nudged_step = payload["step"]
            if event["kind"] == "epoch" and nudged_step and payload["step"] == nudged_step + AFTER_NUDGE:
                client.cancel(search_id)


def test_a_nudged_learning_rate_stalls_the_curve_from_the_nudge_step_and_is_shown_everywhere(
    settings: Settings,
) -> None:
    received: list[dict[str, Any]] = []
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(LONG_TRIAL)["id"]
        reader = threading.Thread(target=follow_and_nudge, args=(url, search_id, received), daemon=True)
        reader.start()
        run_worker(settings, burst=True)  # in the main thread: RQ installs signal handlers
        reader.join(timeout=120)
        assert not reader.is_alive(), "the event stream did not end"
        [trial] = client.trials(search_id)
        detail = client.trial(trial["id"])
        table = list(csv.DictReader(io.StringIO(client.trials_csv(search_id))))

    [event] = [event for event in received if event["kind"] == "trial_nudged"]
    nudge = event["payload"]
    step = nudge["step"]
    assert step > NUDGE_AT
    assert nudge["changes"] == {"learning_rate": {"old": 0.5, "new": STALL}}
    assert nudge["by"] == "anyone" and nudge["at"] >= nudge["requested_at"]
    # The curve: learning before the nudge; from its step on the weights stand still, so the dev cost
    # after every later epoch is the one after epoch step - 1.
    dev_cost = {point["step"]: point["metrics"]["dev_cost"] for point in detail["curve"]}
    assert max(dev_cost) >= step + AFTER_NUDGE - 1
    assert dev_cost[1] - dev_cost[step - 1] > 1e-3
    for later in range(step, max(dev_cost) + 1):
        assert abs(dev_cost[later] - dev_cost[step - 1]) <= 1e-6 * dev_cost[step - 1]
    # The same nudge in GET /trials/{id} and in the CSV export.
    [shown] = detail["nudges"]
    assert {key: shown[key] for key in ("step", "changes", "by")} == {
        "step": step,
        "changes": nudge["changes"],
        "by": "anyone",
    }
    assert detail["controls_pending"] == []
    [row] = table
    assert json.loads(row["nudges"])[0]["step"] == step
    assert json.loads(row["nudges"])[0]["changes"] == nudge["changes"]
