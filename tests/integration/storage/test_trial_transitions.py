"""Claims and completions are compare-and-set: one winner, and late results change nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

from app.domain.trial_state import TrialState
from app.storage.db import session_scope
from app.storage.models import utcnow
from app.storage.repositories import TrialRepository
from tests.integration.storage.factories import add_search_with_trials


def test_claim_is_won_by_exactly_one_worker(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session)
        trial_id = trial.id
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def contend(worker_id: str) -> None:
        barrier.wait()
        with session_scope(database_url) as session:
            if TrialRepository(session).claim(trial_id, worker_id, utcnow()) is not None:
                winners.append(worker_id)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    with session_scope(database_url) as session:
        stored = TrialRepository(session).get(trial_id)
        assert stored is not None
        assert (stored.state, stored.worker_id, stored.attempt) == ("running", winners[0], 1)


def test_claim_of_a_running_trial_fails(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session)
        repo = TrialRepository(session)
        assert repo.claim(trial.id, "first", utcnow()) is not None
        assert repo.claim(trial.id, "second", utcnow()) is None


def test_completion_by_a_superseded_attempt_changes_nothing(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session)
        repo = TrialRepository(session)
        repo.claim(trial.id, "presumed-dead", utcnow())
        # The lease expired: the trial went back to the queue and another worker claimed it.
        assert repo.transition(trial.id, TrialState.QUEUED, attempt=1, sources=[TrialState.RUNNING])
        repo.claim(trial.id, "successor", utcnow())
        late = repo.transition(
            trial.id, TrialState.COMPLETED, attempt=1, sources=[TrialState.RUNNING], value=0.1
        )
        current = repo.transition(
            trial.id, TrialState.COMPLETED, attempt=2, sources=[TrialState.RUNNING], value=0.9
        )
        again = repo.transition(
            trial.id, TrialState.COMPLETED, attempt=2, sources=[TrialState.RUNNING], value=0.5
        )
        stored = repo.get_fresh(trial.id)
    assert (late, current, again) == (False, True, False)
    assert stored is not None and stored.value == 0.9


def test_terminal_trials_cannot_be_requeued(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session)
        repo = TrialRepository(session)
        repo.claim(trial.id, "w", utcnow())
        assert repo.transition(trial.id, TrialState.FAILED, attempt=1)
        assert not repo.transition(trial.id, TrialState.QUEUED)
        assert not repo.transition(trial.id, TrialState.RUNNING)


def test_expired_leases_are_found_by_heartbeat_age(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, trials = add_search_with_trials(session, n_trials=2)
        repo = TrialRepository(session)
        long_ago = utcnow() - timedelta(minutes=5)
        repo.claim(trials[0].id, "dead", long_ago)
        repo.claim(trials[1].id, "alive", utcnow())
        now = utcnow()
        expired = repo.expired_leases(
            now - timedelta(seconds=30), asked_cutoff=now - timedelta(seconds=30), asked_objective="external"
        )
    assert [t.id for t in expired] == [trials[0].id]


def test_asked_trials_hold_their_own_longer_lease(database_url: str) -> None:
    with session_scope(database_url) as session:
        worker_search, worker_trials = add_search_with_trials(session, n_trials=1)
        asked_search, asked_trials = add_search_with_trials(session, n_trials=1)
        asked_search.objective = "external"
        repo = TrialRepository(session)
        a_minute_ago = utcnow() - timedelta(minutes=1)
        repo.claim(worker_trials[0].id, "worker", a_minute_ago)
        repo.claim(asked_trials[0].id, "asker", a_minute_ago)
        now = utcnow()
        expired = repo.expired_leases(
            now - timedelta(seconds=10), asked_cutoff=now - timedelta(minutes=5), asked_objective="external"
        )
        assert [t.id for t in expired] == [worker_trials[0].id]
        only_asked = repo.expired_leases(
            now - timedelta(seconds=10),
            asked_cutoff=now - timedelta(seconds=30),
            asked_objective="external",
            search_id=asked_search.id,
        )
        assert [t.id for t in only_asked] == [asked_trials[0].id]


def test_best_orders_by_value_in_the_search_direction(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, trials = add_search_with_trials(session, n_trials=3)
        repo = TrialRepository(session)
        for trial, value in zip(trials, [0.5, 0.9, 0.7], strict=True):
            repo.claim(trial.id, "w", utcnow())
            repo.transition(trial.id, TrialState.COMPLETED, attempt=1, value=value)
        assert [t.value for t in repo.best(search.id, maximize=True, limit=2)] == [0.9, 0.7]
        assert [t.value for t in repo.best(search.id, maximize=False, limit=2)] == [0.5, 0.7]
