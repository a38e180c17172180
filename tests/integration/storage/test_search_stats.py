"""The per-search counters (search_stats) agree with the trials table after every kind of write."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.domain.trial_state import TrialState
from app.services.ask_tell import advance_search
from app.services.reconcile import expire_leases
from app.services.searches import cancel_search
from app.services.trial_runs import Outcome, claim_trial, finish_trial, release_trial
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial, utcnow
from app.storage.repositories import SearchRepository, TrialRepository
from app.storage.repositories.search_stats import DURATION_BOUNDS, SearchStatsRepository, all_states
from app.storage.repositories.stats import StatsRepository
from app.storage.search_stats import pending
from tests.integration.storage.factories import add_search_with_trials


def counted(database_url: str, search_id: int) -> dict[str, int]:
    """Trials per state counted from the rows, the way the counters must agree with."""
    with session_scope(database_url) as session:
        rows = session.execute(
            text("SELECT state, COUNT(*) FROM trials WHERE search_id = :id GROUP BY state"), {"id": search_id}
        )
        return all_states({state: count for state, count in rows})


def maintained(database_url: str, search_id: int) -> tuple[dict[str, int], int]:
    """(trials per state, version) as the search's counters row holds them."""
    with session_scope(database_url) as session:
        stats = SearchStatsRepository(session).get(search_id)
        assert stats is not None
        return all_states(stats.counts), stats.version


def assert_counters_agree(database_url: str, search_id: int) -> int:
    counts, version = maintained(database_url, search_id)
    assert counts == counted(database_url, search_id)
    return version


def settings_for(database_url: str) -> Settings:
    return Settings(database_url=database_url, redis_url=None, lease_seconds=30, max_attempts=3)


def test_counters_follow_claims_requeues_results_expiries_and_cancels(database_url: str) -> None:
    settings = settings_for(database_url)
    with session_scope(database_url) as session:
        search, trials = add_search_with_trials(session, n_trials=6)
        search_id, ids = search.id, [trial.id for trial in trials]
    versions = [assert_counters_agree(database_url, search_id)]

    def step(action: object) -> None:
        versions.append(assert_counters_agree(database_url, search_id))
        assert versions[-1] > versions[-2], f"{action} did not bump the version"

    runs = {}
    for trial_id in ids[:5]:
        with session_scope(database_url) as session:
            runs[trial_id] = claim_trial(session, trial_id, "w1")
        step(f"claim {trial_id}")
    with session_scope(database_url) as session:
        release_trial(session, runs[ids[0]])  # running -> queued
    step("release")
    with session_scope(database_url) as session:
        finish_trial(session, runs[ids[1]], Outcome(TrialState.COMPLETED, {"dev_accuracy": 0.9}, value=0.9))
    step("complete")
    with session_scope(database_url) as session:
        finish_trial(session, runs[ids[2]], Outcome(TrialState.FAILED, error="boom"))
    step("fail")
    with session_scope(database_url) as session:
        finish_trial(session, runs[ids[3]], Outcome(TrialState.PRUNED, {"dev_accuracy": 0.2}, pruned_step=1))
    step("prune")
    with session_scope(database_url) as session:
        expire_leases(session, settings, utcnow() + timedelta(minutes=5))  # ids[4]: running -> queued
    step("expire")
    with session_scope(database_url) as session:
        cancel_search(session, search_id)  # every queued and running trial -> cancelled
    step("cancel")
    counts, _ = maintained(database_url, search_id)
    assert counts["completed"] == 1 and counts["failed"] == 1 and counts["pruned"] == 1
    assert counts["queued"] == counts["running"] == 0


def test_a_rolled_back_transaction_leaves_the_counters_as_they_were(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (trial,) = add_search_with_trials(session)
    before = maintained(database_url, search.id)
    with pytest.raises(RuntimeError), session_scope(database_url) as session:
        assert TrialRepository(session).claim(trial.id, "w1", utcnow()) is not None
        assert pending(session)[search.id].counts["running"] == 1
        raise RuntimeError("the worker died before commit")
    assert maintained(database_url, search.id) == before
    assert_counters_agree(database_url, search.id)


def test_counts_within_a_transaction_include_its_own_uncommitted_changes(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (first, second) = add_search_with_trials(session, n_trials=2)
    with session_scope(database_url) as session:
        trials = TrialRepository(session)
        trials.claim(first.id, "w1", utcnow())
        assert trials.counts_by_state(search.id)["running"] == 1
        assert trials.counts_by_state(search.id)["queued"] == 1


def test_concurrent_claims_of_many_trials_are_all_counted(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, trials = add_search_with_trials(session, n_trials=12)
        ids = [trial.id for trial in trials]
    barrier = threading.Barrier(4)

    def claim_all(worker_id: str) -> None:
        barrier.wait()
        for trial_id in ids:
            with session_scope(database_url) as session:
                TrialRepository(session).claim(trial_id, worker_id, utcnow())

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert maintained(database_url, search.id)[0]["running"] == 12
    assert_counters_agree(database_url, search.id)


def test_maintained_durations_match_the_durations_counted_from_the_rows(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, trials = add_search_with_trials(session, n_trials=3)
    for seconds, trial in zip((0.05, 3.0, 90.0), trials, strict=True):
        with session_scope(database_url) as session:
            repository = TrialRepository(session)
            start = utcnow() - timedelta(seconds=seconds)
            repository.claim(trial.id, "w1", start)
            repository.transition(
                trial.id, TrialState.COMPLETED, finished_at=start + timedelta(seconds=seconds)
            )
    with session_scope(database_url) as session:
        stats = SearchStatsRepository(session).get(search.id)
        assert stats is not None
        (counted_durations,) = StatsRepository(session).trial_durations(DURATION_BOUNDS, [search.id])
    completed = stats.durations["completed"]
    assert completed["count"] == counted_durations.count == 3
    assert completed["buckets"] == list(counted_durations.bucket_counts)
    assert completed["sum"] == pytest.approx(counted_durations.total_seconds)


def test_a_search_whose_trials_were_written_around_the_repositories_is_recounted(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (trial, _) = add_search_with_trials(session, n_trials=2)
    with session_scope(database_url) as session:
        session.execute(text("UPDATE trials SET state = 'cancelled' WHERE id = :id"), {"id": trial.id})
        SearchStatsRepository(session).rebuild(search.id)
    counts, _ = maintained(database_url, search.id)
    assert counts["cancelled"] == 1 and counts["queued"] == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_counters_another_writer_changed_since_they_were_read_keep_both_changes(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (first, second) = add_search_with_trials(session, n_trials=2)
    with session_scope(database_url) as reader:
        assert SearchRepository(reader).get_for_update(search.id) is not None
        assert TrialRepository(reader).counts_by_state(search.id)["queued"] == 2
        # A claim needs no search lock: it commits its counters between this read and this commit.
        with session_scope(database_url) as other:
            assert TrialRepository(other).claim(first.id, "w2", utcnow()) is not None
        assert TrialRepository(reader).claim(second.id, "w1", utcnow()) is not None
    counts, _ = maintained(database_url, search.id)
    assert counts["running"] == 2 and counts["queued"] == 0
    assert_counters_agree(database_url, search.id)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_ask_tell_that_waited_for_the_search_lock_counts_what_the_holder_committed(
    database_url: str,
) -> None:
    with session_scope(database_url) as session:
        search, (first, _) = add_search_with_trials(
            session, n_trials=2, budget={"max_trials": 6, "max_parallel": 6}
        )
    errors: list[BaseException] = []

    def advance_when_the_lock_is_free() -> None:
        try:
            with session_scope(database_url) as session:
                advance_search(session, search.id)  # waits for the holder's lock, then its counters
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    with session_scope(database_url) as holder:
        assert SearchRepository(holder).get_for_update(search.id) is not None
        now = utcnow()
        trial = Trial(
            search_id=search.id,
            number=2,
            params=dict(first.params),
            seed=2,
            state="queued",
            attempt=0,
            created_at=now,
            updated_at=now,
        )
        TrialRepository(holder).add_many([trial])  # as an ask-tell proposing one trial would
        waiter = threading.Thread(target=advance_when_the_lock_is_free)
        waiter.start()
        time.sleep(0.5)  # the waiter's SELECT ... FOR NO KEY UPDATE is blocked by now
    waiter.join(timeout=30)
    assert not errors, errors  # numbered from the counters the holder committed, not from before them
    assert counted(database_url, search.id)["queued"] == 6
    assert_counters_agree(database_url, search.id)
