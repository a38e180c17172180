"""`caviar watch` keeps one trial current from its stored state and its search's events, replays included."""

from __future__ import annotations

from typing import Any

from app.cli_watch import nudge_answer, render
from app.cli_watch_state import NUDGE_MARK, RESUME_MARK, WatchedTrial

NUDGE = {
    "step": 3,
    "changes": {"learning_rate": {"old": 0.1, "new": 0.003}},
    "by": "anyone",
    "requested_at": "2026-11-24T10:00:03.120000+00:00",
    "at": "2026-11-24T10:00:04+00:00",
}


def stored(**changes: Any) -> WatchedTrial:
    detail = {
        "id": 7,
        "search_id": 2,
        "params": {"learning_rate": 0.1, "hidden_units": 16},
        "state": "running",
        "attempt": 1,
        "curve": [
            {"step": 1, "metrics": {"dev_accuracy": 0.5}},
            {"step": 2, "metrics": {"dev_accuracy": 0.6}},
        ],
        "nudges": [],
        **changes,
    }
    return WatchedTrial.from_detail(detail, "dev_accuracy")


def event(kind: str, trial_id: int = 7, **payload: Any) -> dict[str, Any]:
    return {"id": 1, "search_id": 2, "kind": kind, "trial_id": trial_id, "payload": payload}


def epoch(step: int, value: float, attempt: int = 1, trial_id: int = 7) -> dict[str, Any]:
    return event("epoch", trial_id, attempt=attempt, step=step, metrics={"dev_accuracy": value})


def test_epochs_extend_the_stored_curve_and_replayed_ones_change_nothing() -> None:
    watched = stored()
    for update in (epoch(1, 0.5), epoch(2, 0.6), epoch(3, 0.7), epoch(3, 0.9, trial_id=8)):
        watched.apply(update)
    assert watched.points() == [(1, 0.5), (2, 0.6), (3, 0.7)]


def test_a_nudge_changes_the_current_params_and_marks_its_step_once_though_replayed() -> None:
    watched = stored(nudges=[NUDGE])
    # The stream spells the same instant differently from the API: still the same nudge.
    watched.apply(event("trial_nudged", **{**NUDGE, "requested_at": "2026-11-24T10:00:03.12+00:00"}))
    assert watched.current_params() == {"learning_rate": 0.003, "hidden_units": 16}
    assert watched.marks() == {3: NUDGE_MARK}
    assert len(watched.applied_nudges()) == 1


def test_a_resumed_attempt_replaces_the_points_after_its_checkpoint_and_ignores_the_old_attempts() -> None:
    watched = stored()
    watched.apply(epoch(3, 0.1))
    watched.apply(epoch(4, 0.2))
    watched.apply(event("trial_resumed", attempt=2, step=2, from_attempt=1))
    watched.apply(epoch(3, 0.7, attempt=2))
    watched.apply(epoch(4, 0.3, attempt=1))  # a late point of the abandoned attempt
    assert watched.points() == [(1, 0.5), (2, 0.6), (3, 0.7)]
    assert watched.marks() == {3: RESUME_MARK}


def test_the_trial_ends_with_its_outcome_event() -> None:
    watched = stored()
    watched.apply(event("trial_completed", trial_id=8, value=0.9))
    assert not watched.finished
    watched.apply(event("trial_pruned", value=None))
    assert watched.finished and watched.state == "pruned"


def test_the_screen_shows_the_chart_the_params_the_nudge_log_and_the_answers() -> None:
    watched = stored(nudges=[NUDGE])
    watched.apply(epoch(3, 0.8))
    watched.answer("lr 0.003: accepted")
    lines = [str(line) for line in render(watched, prompting=True).renderables]
    assert lines[0].startswith("trial 7 (search 2) running")
    assert "0.8│" in lines[1]
    assert "hyperparameters: hidden_units=16, learning_rate=0.003" in lines
    assert "step 3 ▲ learning_rate 0.1 → 0.003 (by anyone)" in lines
    assert "> lr 0.003: accepted" in lines and "q to quit" in lines[-1]


def test_a_line_that_cannot_be_read_is_answered_without_calling_the_api() -> None:
    api: Any = None  # any call would fail: the line never reaches the API
    assert "has no value" in nudge_answer(api, 7, "lr")


def test_a_metric_the_curve_lacks_is_named_with_the_ones_it_has() -> None:
    watched = stored()
    watched.metric = "dev_cost"
    lines = [str(line) for line in render(watched, prompting=False).renderables]
    assert lines[1] == "no dev_cost in the curve; it has: dev_accuracy"
    assert "q to quit" not in lines[-1]


def test_pause_requeue_and_stop_events_change_the_state_and_are_logged_once() -> None:
    watched = stored()
    paused = event("trial_paused", attempt=1, step=2, by="me")

    watched.apply(paused)
    assert watched.state == "paused" and not watched.finished
    watched.apply(paused)  # replayed by the stream
    watched.apply(event("trial_requeued", reason="resumed", by="me"))
    assert watched.state == "queued"
    watched.apply(event("trial_stopped", attempt=2, step=5, best_step=3, by="me"))

    assert watched.log == [
        (2, "paused after step 2 (by me)"),
        (5, "stopped after step 5, best step 3 (by me)"),
    ]
