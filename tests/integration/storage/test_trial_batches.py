"""Claims and results in bulk (a worker's chain): each trial claimed by one worker only, results recorded
once and only under the claim, counters and events as one at a time would leave them."""

from __future__ import annotations

import math
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from app.domain.trial_state import TrialState
from app.services.reconcile import expire_leases
from app.services.trial_batches import Refill, claim_queued, record_and_refill
from app.services.trial_runs import ClaimedRun, DeferredEpoch, Outcome
from app.settings import Settings
from app.storage.db import session_scope, statements_sent
from app.storage.models import Event, Trial, TrialMetric, utcnow
from tests.integration.storage.factories import add_search_with_trials
from tests.integration.storage.test_search_stats import assert_counters_agree


def claim(database_url: str, search_id: int, worker_id: str, *, needed: int, extra: int) -> Refill:
    refill = Refill()
    with session_scope(database_url) as session:
        claim_queued(session, search_id, worker_id, needed=needed, extra=extra, refill=refill)
    return refill


def states(database_url: str, search_id: int) -> dict[int, tuple[str, int, str | None]]:
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Trial.id, Trial.state, Trial.attempt, Trial.worker_id).where(Trial.search_id == search_id)
        ).all()
    return {row.id: (row.state, row.attempt, row.worker_id) for row in rows}


def test_claims_ahead_leave_as_many_queued_trials_for_other_workers(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, _ = add_search_with_trials(session, n_trials=5)
        search_id = search.id
    refill = claim(database_url, search_id, "w1", needed=1, extra=8)
    # 1 needed, then of the 4 left at most half: 2 ahead, 2 still queued.
    assert len(refill.claimed) == 3
    assert Counter(state for state, _, _ in states(database_url, search_id).values()) == {
        "running": 3,
        "queued": 2,
    }
    # Their jobs are to be dropped from the queue: claimed without them (job id of attempt 0).
    assert sorted((job.trial_id, job.attempt) for job in refill.to_drop) == sorted(
        (run.trial_id, 0) for run in refill.claimed
    )
    assert_counters_agree(database_url, search_id)


@pytest.mark.parametrize("keep_proposed", [True, False])
def test_a_worker_takes_back_the_trials_its_results_made_room_for_only_when_asked(
    database_url: str, keep_proposed: bool
) -> None:
    """Of the trials queued before, half stay for other workers; those its own results made room for
    (proposed in the same transaction) it may take all when `keep_proposed` (cheap trials), and their jobs
    are never enqueued; otherwise the half rule covers them too."""
    with session_scope(database_url) as session:
        search, _ = add_search_with_trials(session, n_trials=6, budget={"max_trials": 100, "max_parallel": 6})
        search_id = search.id
    runs = claim(database_url, search_id, "w1", needed=4, extra=0).claimed
    assert len(runs) == 4  # 2 left queued from before

    def completed(run: ClaimedRun) -> Outcome:
        return Outcome(TrialState.COMPLETED, {"dev_accuracy": 0.5}, 0.5, started_at=utcnow())

    with session_scope(database_url) as session:
        refill = record_and_refill(
            session,
            search_id,
            [(run, completed(run)) for run in runs],
            "w1",
            needed=1,
            extra=8,
            keep_proposed=keep_proposed,
        )
    if not keep_proposed:  # 6 queued: the needed one, then half of the other 5
        assert len(refill.claimed) == 3
        assert_counters_agree(database_url, search_id)
        return
    # 4 proposed in the room of the 4 results, all taken back; of the 2 queued before, the needed one and
    # none more (half of the 1 left over rounds down).
    assert len(refill.claimed) == 5
    rows = states(database_url, search_id)
    assert Counter(state for state, _, _ in rows.values()) == {"completed": 4, "running": 5, "queued": 1}
    # Oldest first: the 2 queued before (their jobs to be dropped) and 3 new ones; the new one left
    # queued is the only job to enqueue.
    queued = [trial_id for trial_id, (state, _, _) in rows.items() if state == "queued"]
    assert [job.trial_id for job in refill.to_enqueue] == queued
    assert len(refill.to_drop) == 2
    assert_counters_agree(database_url, search_id)


def test_concurrent_bulk_claims_never_take_the_same_trial(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, _ = add_search_with_trials(session, n_trials=40)
        search_id = search.id
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        start.wait()
        taken: list[int] = []
        while True:
            refill = claim(database_url, search_id, name, needed=1, extra=3)
            if not refill.claimed:
                break
            taken += [run.trial_id for run in refill.claimed]
        claimed[name] = taken

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    every = [trial_id for taken in claimed.values() for trial_id in taken]
    assert len(every) == len(set(every)) == 40
    rows = states(database_url, search_id)
    assert all(
        rows[trial_id][0] == "running" and rows[trial_id][2] == name
        for name, ids in claimed.items()
        for trial_id in ids
    )
    assert_counters_agree(database_url, search_id)


def test_a_batch_records_each_result_once_and_skips_runs_whose_claim_was_lost(database_url: str) -> None:
    settings = Settings(database_url=database_url, redis_url=None, lease_seconds=30, max_attempts=3)
    with session_scope(database_url) as session:
        search, _ = add_search_with_trials(session, n_trials=4)
        search_id = search.id
    runs = (
        claim(database_url, search_id, "w1", needed=1, extra=1).claimed
        + claim(database_url, search_id, "w1", needed=1, extra=0).claimed
    )
    assert len(runs) == 3
    lost = runs[2]
    with session_scope(database_url) as session:  # its lease expired: re-queued behind the worker's back
        session.execute(
            Trial.__table__.update()
            .where(Trial.id == lost.trial_id)
            .values(heartbeat_at=utcnow().replace(year=2000))
        )
    with session_scope(database_url) as session:
        expire_leases(session, settings, utcnow())
    started, finished = utcnow(), utcnow()
    epoch = DeferredEpoch(step=1, metrics={"dev_accuracy": 0.5}, own_curve={1: 0.5})

    def outcome(value: float) -> Outcome:
        return Outcome(
            TrialState.COMPLETED,
            {"dev_accuracy": value},
            value,
            started_at=started,
            finished_at=finished,
            epochs=(epoch,),
        )

    batch = [(runs[0], outcome(0.1)), (runs[1], outcome(0.2)), (lost, outcome(0.3))]
    for _ in range(2):  # the second time, as a retried transaction whose commit went through unseen
        with session_scope(database_url) as session:
            record_and_refill(session, search_id, batch, "w1", needed=0, extra=0)
    rows = states(database_url, search_id)
    assert rows[runs[0].trial_id][0] == rows[runs[1].trial_id][0] == "completed"
    assert rows[lost.trial_id][:2] == ("queued", lost.attempt)
    with session_scope(database_url) as session:
        finishing = Counter(session.scalars(select(Event.trial_id).where(Event.kind == "trial_completed")))
        points = Counter(session.scalars(select(TrialMetric.trial_id)))
        trial = session.get(Trial, runs[0].trial_id)
        assert trial is not None and trial.started_at == started and trial.value == 0.1
    assert finishing == {runs[0].trial_id: 1, runs[1].trial_id: 1}
    assert points == {runs[0].trial_id: 1, runs[1].trial_id: 1}
    assert_counters_agree(database_url, search_id)


def test_a_batch_stores_each_outcome_as_it_ended(database_url: str) -> None:
    """Completed, failed and pruned runs in one batch: each row gets its own columns, NULLs included (on
    PostgreSQL one statement binds every row's column as one array, some of them all NULL)."""
    with session_scope(database_url) as session:
        search, _ = add_search_with_trials(session, n_trials=3)
        search_id = search.id
    runs = claim(database_url, search_id, "w1", needed=3, extra=0).claimed
    assert len(runs) == 3
    started = utcnow().replace(microsecond=0)
    finished = started.replace(year=started.year + 1)
    outcomes = [
        Outcome(
            TrialState.COMPLETED,
            {"dev_accuracy": 0.75, "loss": math.nan},
            0.75,
            started_at=started,
            finished_at=finished,
        ),
        Outcome(TrialState.FAILED, error="ValueError: boom", started_at=started, finished_at=finished),
        Outcome(
            TrialState.PRUNED, {"dev_accuracy": 0.25}, pruned_step=3, started_at=started, finished_at=finished
        ),
    ]
    with session_scope(database_url) as session:
        record_and_refill(session, search_id, list(zip(runs, outcomes, strict=True)), "w1", needed=0, extra=0)
    with session_scope(database_url) as session:
        stored = {
            trial.id: trial
            for trial in session.scalars(select(Trial).where(Trial.id.in_([run.trial_id for run in runs])))
        }
        columns = [
            (t.state, t.value, t.metrics, t.metric_value, t.error, t.pruned_step, t.run_request)
            for t in (stored[run.trial_id] for run in runs)
        ]
        times = {(t.started_at, t.finished_at) for t in stored.values()}
    assert columns == [
        ("completed", 0.75, {"dev_accuracy": 0.75, "loss": None}, 0.75, None, None, None),
        ("failed", None, {}, None, "ValueError: boom", None, None),
        ("pruned", None, {"dev_accuracy": 0.25}, 0.25, None, 3, None),
    ]
    assert times == {(started, finished)}
    assert_counters_agree(database_url, search_id)


STATEMENTS_PER_BATCH = 9
"""What one recording transaction sends to PostgreSQL, whatever its batch: a round trip each (besides
BEGIN and COMMIT; bench/record_round_trips.py counts those too). Lock the search;
update the runs still holding their claim; insert their curve points; read the counters and the branch
count; store the strategy's state; insert the new trials; claim the next trials; insert the
transaction's events (the results' and the claims', in one statement); write the counters. (Pruning
checkpoints adds a DELETE once a trial of the search has stored one; 18 before issue 14's round-trip
work.)"""


# On PostgreSQL, where a statement is a round trip (SQLite, in process, inserts rows one at a time when it
# must return their ids).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_batch_of_results_is_recorded_in_as_many_statements_as_one_result(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, _ = add_search_with_trials(
            session, n_trials=10, budget={"max_trials": 100, "max_parallel": 10}
        )
        search_id = search.id
    runs = claim(database_url, search_id, "w1", needed=10, extra=0).claimed
    assert len(runs) == 10

    def completed(run: ClaimedRun) -> Outcome:
        epoch = DeferredEpoch(step=1, metrics={"dev_accuracy": 0.5}, own_curve={1: 0.5})
        now = utcnow()  # a chain passes the objective's own times
        return Outcome(
            TrialState.COMPLETED, {"dev_accuracy": 0.5}, 0.5, started_at=now, finished_at=now, epochs=(epoch,)
        )

    sent_for: dict[int, list[str]] = {}
    for batch in (runs[:1], runs[1:9]):
        with statements_sent(database_url) as sent, session_scope(database_url) as session:
            # As a chain asks: the trial its job thread waits for, and more to hold ahead.
            refill = record_and_refill(
                session,
                search_id,
                [(run, completed(run)) for run in batch],
                "w1",
                needed=1,
                extra=len(batch) - 1,
            )
        assert refill.claimed  # the transaction proposed new trials and claimed some
        sent_for[len(batch)] = sent
    assert len(sent_for[1]) == len(sent_for[8])
    assert len(sent_for[8]) <= STATEMENTS_PER_BATCH, sent_for[8]
    assert_counters_agree(database_url, search_id)
