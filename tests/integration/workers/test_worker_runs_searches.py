"""An in-process worker (RQ SimpleWorker, burst mode) against real Redis and both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import update

from app.queue import RUN_TRIAL, enqueue_after_commit, job_id_for, trial_queues
from app.services.searches import create_search
from app.services.spec_model import SearchSpec
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial, utcnow
from app.storage.repositories import SearchRepository, TrialRepository
from tests.integration.helpers import quick_spec
from workers.worker import run_worker


def submit(settings: Settings, spec: dict[str, Any]) -> int:
    with session_scope(settings.database_url) as session:
        search, to_enqueue = create_search(session, SearchSpec.model_validate(spec), settings)
        search_id = search.id
    assert settings.redis_url is not None
    queue = trial_queues(settings.redis_url, settings.queue_name)
    enqueue_after_commit(queue, to_enqueue, timeout_seconds=60)
    return search_id


def trials_of(settings: Settings, search_id: int) -> list[Trial]:
    with session_scope(settings.database_url) as session:
        return list(TrialRepository(session).of_search(search_id))


def search_state(settings: Settings, search_id: int) -> str:
    with session_scope(settings.database_url) as session:
        search = SearchRepository(session).get(search_id)
        assert search is not None
        return search.state


def test_worker_runs_a_search_to_completion(settings: Settings) -> None:
    search_id = submit(settings, quick_spec())
    run_worker(settings, burst=True)
    trials = trials_of(settings, search_id)
    assert [t.state for t in trials] == ["completed"] * 4
    assert search_state(settings, search_id) == "completed"
    assert all(t.value is not None and 0 <= t.value <= 1 for t in trials)
    with session_scope(settings.database_url) as session:
        curve = TrialRepository(session).curve(trials[0].id)
    assert sorted({point.step for point in curve}) == [1, 2, 3]


def test_trial_of_a_dead_worker_is_run_again_and_recorded_once(settings: Settings) -> None:
    search_id = submit(settings, quick_spec(budget={"max_trials": 1, "max_parallel": 1}))
    (trial,) = trials_of(settings, search_id)
    with session_scope(settings.database_url) as session:
        TrialRepository(session).claim(trial.id, "worker-that-died", utcnow() - timedelta(minutes=10))
    run_worker(settings, burst=True)
    (trial,) = trials_of(settings, search_id)
    assert trial.state == "completed"
    assert trial.attempt == 2
    assert trial.worker_id != "worker-that-died"
    assert search_state(settings, search_id) == "completed"


def test_lost_queue_is_rebuilt_from_the_database(settings: Settings) -> None:
    search_id = submit(settings, quick_spec())
    assert settings.redis_url is not None
    Redis.from_url(settings.redis_url).flushdb()
    with session_scope(settings.database_url) as session:
        session.execute(update(Trial).values(updated_at=utcnow() - timedelta(minutes=1)))
    run_worker(settings, burst=True)
    assert [t.state for t in trials_of(settings, search_id)] == ["completed"] * 4


def test_jobs_left_on_the_single_queue_of_earlier_releases_are_moved_to_their_objective_queue(
    settings: Settings,
) -> None:
    search_id = submit(settings, quick_spec())
    assert settings.redis_url is not None
    connection = Redis.from_url(settings.redis_url)
    connection.flushdb()
    legacy = Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)
    for trial in trials_of(settings, search_id):
        legacy.enqueue_call(RUN_TRIAL, args=(trial.id,), job_id=job_id_for(trial.id, trial.attempt))
    with session_scope(settings.database_url) as session:
        session.execute(update(Trial).values(updated_at=utcnow() - timedelta(minutes=1)))
    run_worker(settings, burst=True)
    assert [t.state for t in trials_of(settings, search_id)] == ["completed"] * 4


def test_diverging_trials_are_failed_as_diverged_and_a_search_with_none_completed_fails(
    settings: Settings,
) -> None:
    spec = quick_spec()
    spec["space"]["learning_rate"] = {"type": "float", "low": 1e5, "high": 1e6, "scale": "log"}
    spec["space"]["optimizer"] = "gd"
    search_id = submit(settings, spec)
    run_worker(settings, burst=True)
    trials = trials_of(settings, search_id)
    # Such steps blow up a ReLU net's cost in the first epoch; the rare net whose units all die keeps a
    # finite cost and completes, which is also a legitimate outcome.
    failed = [t for t in trials if t.state == "failed"]
    assert len(failed) >= 3
    assert all(t.error is not None and t.error.startswith("diverged") for t in failed)
    assert {t.state for t in trials} <= {"failed", "completed"}
    completed = any(t.state == "completed" for t in trials)
    assert search_state(settings, search_id) == ("completed" if completed else "failed")


def test_cancelled_search_trials_are_not_run(settings: Settings) -> None:
    from app.services.searches import cancel_search

    search_id = submit(settings, quick_spec())
    with session_scope(settings.database_url) as session:
        cancel_search(session, search_id)
    run_worker(settings, burst=True)
    assert [t.state for t in trials_of(settings, search_id)] == ["cancelled"] * 2


def test_trial_lost_max_attempts_times_is_failed_and_the_search_goes_on(settings: Settings) -> None:
    search_id = submit(settings, quick_spec(budget={"max_trials": 2, "max_parallel": 1}))
    (trial,) = trials_of(settings, search_id)
    with session_scope(settings.database_url) as session:
        session.execute(update(Trial).where(Trial.id == trial.id).values(attempt=settings.max_attempts - 1))
        TrialRepository(session).claim(trial.id, "worker-that-died", utcnow() - timedelta(minutes=10))
    run_worker(settings, burst=True)
    first, second = trials_of(settings, search_id)
    assert first.state == "failed"
    assert first.error is not None and first.error.startswith("lost")
    assert second.state == "completed"
    assert search_state(settings, search_id) == "completed"


def test_quadratic_objective_finds_its_minimum_near_one_half(settings: Settings) -> None:
    spec = quick_spec(
        objective="quadratic",
        metric="loss",
        direction="minimize",
        space={
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "y": {"type": "float", "low": 0.0, "high": 1.0},
        },
        strategy={"kind": "coarse_to_fine", "trials_per_round": 8},
        budget={"max_trials": 32, "max_parallel": 8},
    )
    search_id = submit(settings, spec)
    run_worker(settings, burst=True)
    with session_scope(settings.database_url) as session:
        (best,) = TrialRepository(session).best(search_id, maximize=False, limit=1)
    assert best.value is not None and best.value < 0.01
