"""Trial checkpoints: written only under the claim, handed to the next attempt, pruned when trials end."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.trial_state import TrialState
from app.services.trial_runs import Outcome, claim_trial, finish_trial, record_epoch, requeue
from app.storage.db import session_scope, statements_sent
from app.storage.models import Event, SearchStats, TrialCheckpoint
from app.storage.repositories import CheckpointRepository, TrialRepository
from tests.integration.storage.factories import add_search_with_trials
from workers.dataset_cache import DatasetCache
from workers.trial_context import WorkerTrialContext


def _metrics(accuracy: float) -> dict[str, float]:
    return {"dev_accuracy": accuracy, "dev_cost": 1.0 - accuracy}


def _checkpoint(database_url: str, trial_id: int) -> tuple[int, int, bytes] | None:
    with session_scope(database_url) as session:
        row = CheckpointRepository(session).latest(trial_id)
        return None if row is None else (row.step, row.attempt, row.content)


def test_an_epoch_report_stores_its_checkpoint_and_the_next_replaces_it(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session)
        run = claim_trial(session, trial.id, "w1")
    assert run is not None and run.resume is None
    for step in (1, 2):
        with session_scope(database_url) as session:
            record_epoch(session, run, step, _metrics(0.5), {}, f"state {step}".encode())

    assert _checkpoint(database_url, run.trial_id) == (2, 1, b"state 2")
    with session_scope(database_url) as session:
        assert CheckpointRepository(session).latest(run.trial_id).size == len(b"state 2")  # type: ignore[union-attr]


def test_a_superseded_attempt_cannot_write_a_checkpoint(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (trial,) = add_search_with_trials(session)
        presumed_dead = claim_trial(session, trial.id, "w1")
        assert presumed_dead is not None
        record_epoch(session, presumed_dead, 1, _metrics(0.5), {}, b"attempt 1")
        requeue(session, search.id, trial.id, 1, reason="lease expired")
        successor = claim_trial(session, trial.id, "w2")
    assert successor is not None

    with session_scope(database_url) as session:
        verdict = record_epoch(session, presumed_dead, 2, _metrics(0.9), {}, b"late")

    assert verdict.claim_lost
    assert _checkpoint(database_url, trial.id) == (1, 1, b"attempt 1")


def test_the_next_attempt_resumes_from_the_checkpoint_keeping_the_curve_up_to_it(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (trial,) = add_search_with_trials(session)
        first = claim_trial(session, trial.id, "w1")
        assert first is not None
    with session_scope(database_url) as session:
        for step in (1, 2):
            record_epoch(session, first, step, _metrics(0.1 * step), {}, f"after {step}".encode())
        record_epoch(session, first, 3, _metrics(0.3), {})  # no checkpoint at this step
        requeue(session, search.id, trial.id, 1, reason="lease expired")

    with session_scope(database_url) as session:
        second = claim_trial(session, trial.id, "w2")
        assert second is not None
        steps = sorted({point.step for point in TrialRepository(session).curve(trial.id)})
    with session_scope(database_url) as session:
        resumed = session.scalars(select(Event).where(Event.kind == "trial_resumed")).one()

    assert second.resume is not None
    assert (second.resume.step, second.resume.attempt, second.resume.content) == (2, 1, b"after 2")
    assert steps == [1, 2]
    assert resumed.trial_id == trial.id
    assert resumed.payload == {"attempt": 2, "step": 2, "from_attempt": 1}


def test_a_finished_trial_loses_its_checkpoint_unless_it_is_the_best(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, trials = add_search_with_trials(session, n_trials=3)
        runs = [claim_trial(session, trial.id, f"w{trial.number}") for trial in trials]
        for run in runs:
            assert run is not None
            record_epoch(session, run, 1, _metrics(0.5), {}, b"weights")
    first, second, third = (run for run in runs if run is not None)

    for run, value in ((first, 0.6), (second, 0.4)):
        with session_scope(database_url) as session:
            finish_trial(session, run, Outcome(TrialState.COMPLETED, _metrics(value), value=value))

    assert _checkpoint(database_url, first.trial_id) is not None  # the best so far keeps its checkpoint
    assert _checkpoint(database_url, second.trial_id) is None
    assert _checkpoint(database_url, third.trial_id) is not None  # still running

    with session_scope(database_url) as session:
        finish_trial(session, third, Outcome(TrialState.COMPLETED, _metrics(0.9), value=0.9))
        kept = session.scalars(select(TrialCheckpoint.trial_id)).all()

    assert kept == [third.trial_id]


def _stats(database_url: str, search_id: int) -> tuple[int, bool]:
    with session_scope(database_url) as session:
        row = session.get(SearchStats, search_id)
        assert row is not None
        return row.version, row.checkpointed


def test_no_pruning_statement_until_a_trial_of_the_search_stored_a_checkpoint(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, trials = add_search_with_trials(session, n_trials=3)
        runs = [claim_trial(session, trial.id, "w1") for trial in trials]
    first, second, third = (run for run in runs if run is not None)

    with statements_sent(database_url) as sent, session_scope(database_url) as session:
        finish_trial(session, first, Outcome(TrialState.COMPLETED, _metrics(0.6), value=0.6))
    assert sent and not [statement for statement in sent if "DELETE FROM trial_checkpoints" in statement]

    version, marked = _stats(database_url, second.search_id)
    assert not marked
    with session_scope(database_url) as session:
        record_epoch(session, second, 1, _metrics(0.7), {}, b"weights")  # the search's first checkpoint
    assert _stats(database_url, second.search_id) == (version, True)  # marked, no new version (ETag)
    with session_scope(database_url) as session:
        finish_trial(session, second, Outcome(TrialState.COMPLETED, _metrics(0.7), value=0.7))
    assert _checkpoint(database_url, second.trial_id) is not None  # the best keeps it
    # Overtaken by a trial that stored none: pruned all the same.
    with session_scope(database_url) as session:
        finish_trial(session, third, Outcome(TrialState.COMPLETED, _metrics(0.8), value=0.8))
    assert _checkpoint(database_url, second.trial_id) is None


# SQLite: the reading transaction holds the write lock, so no checkpoint can be stored meanwhile.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_checkpoint_mark_made_after_a_writer_read_the_counters_survives_its_write(
    database_url: str,
) -> None:
    with session_scope(database_url) as session:
        _, (first, second) = add_search_with_trials(session, n_trials=2)
        run = claim_trial(session, first.id, "w1")
    assert run is not None
    with session_scope(database_url) as writer:
        TrialRepository(writer).counts_by_state(run.search_id)  # read unmarked, written over at commit
        with session_scope(database_url) as session:
            record_epoch(session, run, 1, _metrics(0.5), {}, b"weights")  # marks, with no new version
        assert claim_trial(writer, second.id, "w2") is not None
    assert _stats(database_url, run.search_id)[1]


def test_a_checkpoint_goes_with_its_trial(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (trial,) = add_search_with_trials(session)
        run = claim_trial(session, trial.id, "w1")
        assert run is not None
        record_epoch(session, run, 1, _metrics(0.5), {}, b"weights")
    with session_scope(database_url) as session:
        session.delete(session.get(type(search), search.id))

    assert _checkpoint(database_url, trial.id) is None


def test_a_worker_checkpoints_no_more_often_than_its_time_floor(database_url: str, tmp_path: Path) -> None:
    with session_scope(database_url) as session:
        _, trials = add_search_with_trials(session, n_trials=2)
        runs = [claim_trial(session, trial.id, "w1") for trial in trials]
    saved: dict[int, list[int]] = {}
    for run, floor in zip(runs, (3600.0, 0.0), strict=True):
        assert run is not None
        context = WorkerTrialContext(
            run,
            database_url,
            DatasetCache(database_url, tmp_path),
            threading.Event(),
            checkpoint_min_seconds=floor,
        )
        taken = saved.setdefault(run.trial_id, [])
        context.checkpoint_with(lambda taken=taken: (taken.append(1), b"state")[1])
        for step in (1, 2, 3):
            context.report(step, dev_accuracy=0.5)
    # An hour's floor: no checkpoint in a short run (nothing stored); none: one after every epoch.
    first, second = (run.trial_id for run in runs if run is not None)
    assert (len(saved[first]), _checkpoint(database_url, first)) == (0, None)
    assert (len(saved[second]), _checkpoint(database_url, second)) == (3, (3, 1, b"state"))
