"""Ask-tell as the workers drive it: numbering, rounds and their events, read back from the database."""

from __future__ import annotations

from typing import Any

from app.queue import enqueue_after_commit, trial_queues
from app.services.ask_tell import trial_seed
from app.services.searches import create_search
from app.services.spec_model import SearchSpec
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial
from app.storage.repositories import EventRepository, SearchRepository, TrialRepository
from tests.integration.helpers import quick_spec
from workers.worker import run_worker


def submit(settings: Settings, spec: dict[str, Any]) -> int:
    with session_scope(settings.database_url) as session:
        search, to_enqueue = create_search(session, SearchSpec.model_validate(spec), settings)
        search_id = search.id
    assert settings.redis_url is not None
    enqueue_after_commit(
        trial_queues(settings.redis_url, settings.queue_name), to_enqueue, timeout_seconds=60
    )
    return search_id


def trials_of(settings: Settings, search_id: int) -> list[Trial]:
    with session_scope(settings.database_url) as session:
        return list(TrialRepository(session).of_search(search_id))


def quadratic_spec(strategy: dict[str, Any], max_trials: int, max_parallel: int) -> dict[str, Any]:
    return quick_spec(
        objective="quadratic",
        metric="loss",
        direction="minimize",
        space={
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "y": {"type": "float", "low": 0.0, "high": 1.0},
        },
        strategy=strategy,
        budget={"max_trials": max_trials, "max_parallel": max_parallel},
    )


def test_random_search_numbers_its_trials_consecutively_with_their_own_seeds(settings: Settings) -> None:
    search_id = submit(settings, quadratic_spec({"kind": "random"}, max_trials=9, max_parallel=4))
    run_worker(settings, burst=True)
    trials = trials_of(settings, search_id)
    with session_scope(settings.database_url) as session:
        search = SearchRepository(session).get(search_id)
        assert search is not None
        search_seed, state = search.seed, search.state
    assert [t.number for t in trials] == list(range(9))
    assert [t.seed for t in trials] == [trial_seed(search_seed, number) for number in range(9)]
    assert [t.state for t in trials] == ["completed"] * 9
    assert state == "completed"


def test_coarse_to_fine_records_each_round_once_when_it_opens(settings: Settings) -> None:
    strategy = {"kind": "coarse_to_fine", "rounds": 3, "trials_per_round": 4}
    search_id = submit(settings, quadratic_spec(strategy, max_trials=12, max_parallel=4))
    run_worker(settings, burst=True)
    trials = trials_of(settings, search_id)
    with session_scope(settings.database_url) as session:
        events = EventRepository(session).after(search_id, 0)
        opened = [event.payload["round"] for event in events if event.kind == "round_advanced"]
    assert [t.round for t in trials] == [0] * 4 + [1] * 4 + [2] * 4
    assert opened == [0, 1, 2]
