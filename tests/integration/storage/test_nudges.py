"""Nudges in storage: delivered with the epoch report, recorded when applied, re-asked after a resume."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.services.trial_controls import apply_requests, request_nudge
from app.services.trial_runs import claim_trial, record_epoch, requeue
from app.storage.db import session_scope
from app.storage.repositories import TrialRepository
from tests.integration.storage.factories import add_search_with_trials

METRICS = {"dev_accuracy": 0.5, "dev_cost": 0.5}


def fake_apply(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Stands for Trainer.nudge: every old value was 0.1."""
    return {name: 0.1 for name in changes}


def test_a_nudge_comes_with_the_next_epoch_report_and_is_applied_once(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session)
        run = claim_trial(session, trial.id, "w1")
        assert run is not None
    with session_scope(database_url) as session:
        request_nudge(session, trial.id, {"learning_rate": 0.003})

    with session_scope(database_url) as session:
        verdict = record_epoch(session, run, 1, METRICS, {})
        apply_requests(session, run.search_id, run.trial_id, 2, list(verdict.controls), fake_apply)
    with session_scope(database_url) as session:
        again = record_epoch(session, run, 2, METRICS, {})
        stored = TrialRepository(session).get(trial.id)
        assert stored is not None
        nudges, pending = stored.nudges, stored.controls_pending

    assert [request["changes"] for request in verdict.controls] == [{"learning_rate": 0.003}]
    assert again.controls == () and pending is None
    assert nudges is not None and [(n["step"], n["changes"]) for n in nudges] == [
        (2, {"learning_rate": {"old": 0.1, "new": 0.003}})
    ]


def test_nudges_after_the_resumed_checkpoint_are_asked_again_and_earlier_ones_kept(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (trial,) = add_search_with_trials(session)
        run = claim_trial(session, trial.id, "w1")
        assert run is not None
    for step, checkpoint, nudge in ((1, b"after 1", 0.01), (2, b"after 2", 0.02), (3, None, 0.03)):
        with session_scope(database_url) as session:
            request_nudge(session, trial.id, {"learning_rate": nudge})
        with session_scope(database_url) as session:
            verdict = record_epoch(session, run, step, METRICS, {}, checkpoint)
            apply_requests(session, run.search_id, run.trial_id, step + 1, list(verdict.controls), fake_apply)
    with session_scope(database_url) as session:
        requeue(session, search.id, trial.id, 1, reason="lease expired")
        resumed = claim_trial(session, trial.id, "w2")
        assert resumed is not None and resumed.resume is not None and resumed.resume.step == 2
        stored = TrialRepository(session).get(trial.id)
        assert stored is not None
        kept, pending = stored.nudges or [], stored.controls_pending or []

    # Applied from step 2 (in the checkpoint after epoch 2) stays; from steps 3 and 4 is asked again.
    assert [nudge["step"] for nudge in kept] == [2]
    assert [request["changes"] for request in pending] == [{"learning_rate": 0.02}, {"learning_rate": 0.03}]
