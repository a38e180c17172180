"""Creating, cancelling and reading searches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.api_keys import ANYONE, Caller
from app.domain.catalog import BUILTIN_OBJECTIVES
from app.domain.trial_state import SearchState, TrialState
from app.errors import Conflict, Forbidden, NotFound
from app.services.ask_tell import Enqueue, advance_search
from app.services.checkpoints import prune_checkpoints
from app.services.listing import CountedSearch
from app.services.spec_model import SearchSpec
from app.services.specs import EXTERNAL, dataset_reference, strategy_for, validate_spec
from app.settings import Settings
from app.storage.models import Search, Trial, utcnow
from app.storage.repositories import (
    DatasetRepository,
    EventRepository,
    SearchRepository,
    TrialRepository,
    WorkerRepository,
)
from app.storage.repositories.search_stats import all_states

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchView:
    """A search with what a poller wants next to it."""

    search: Search
    counts: dict[str, int]
    best: Trial | None
    strategy: dict[str, Any]
    waiting: str | None = None


def advertised_objectives(session: Session, settings: Settings) -> set[str]:
    """Objectives advertised by workers that heartbeated within the lease and have not stopped."""
    since = utcnow() - timedelta(seconds=settings.lease_seconds)
    return {name for worker in WorkerRepository(session).live(since) for name in worker.objectives}


def known_objectives(session: Session, settings: Settings) -> set[str]:
    """Built-in objectives plus those advertised by live workers."""
    return set(BUILTIN_OBJECTIVES) | advertised_objectives(session, settings)


def create_search(
    session: Session,
    spec: SearchSpec,
    settings: Settings,
    *,
    idempotency_key: str | None = None,
    created_by_key: str | None = None,
) -> tuple[Search, Enqueue]:
    """Validate, store the search and its first trials; returns the trials to enqueue after commit.

    `created_by_key` is the name of the API key that asked (None when keys are not required)."""
    if idempotency_key is not None:
        existing = SearchRepository(session).by_idempotency_key(idempotency_key)
        if existing is not None:
            return existing, []
    dataset_name, _ = dataset_reference(spec.dataset)
    stored = DatasetRepository(session).find(dataset_name) if dataset_name is not None else None
    validated = validate_spec(
        spec,
        settings,
        known_objectives=known_objectives(session, settings),
        uploaded_dataset_id=stored.id if stored is not None else None,
    )
    now = utcnow()
    search = Search(
        name=spec.name,
        objective=spec.objective,
        dataset=validated.dataset_name,
        metric=spec.metric,
        direction=spec.direction,
        spec=validated.canonical,
        state=SearchState.RUNNING.value,
        seed=validated.seed,
        strategy_state={},
        idempotency_key=idempotency_key,
        created_by_key=created_by_key,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            SearchRepository(session).add(search)
    except IntegrityError:
        # A concurrent request with the same idempotency key won the insert.
        if idempotency_key is None:
            raise
        existing = SearchRepository(session).by_idempotency_key(idempotency_key)
        if existing is None:
            raise
        return existing, []
    EventRepository(session).add(search.id, "search_created")
    to_enqueue = advance_search(session, search.id, now)
    log.info("search %s created with %d first trial(s)", search.id, len(to_enqueue))
    return search, to_enqueue


def get_search(session: Session, search_id: int) -> Search:
    search = SearchRepository(session).get(search_id)
    if search is None:
        raise NotFound(f"search {search_id} does not exist")
    return search


def search_view(session: Session, search_id: int, settings: Settings) -> SearchView:
    """The search as a write left it (its counters plus the transaction's changes not yet written)."""
    search = get_search(session, search_id)
    counts = TrialRepository(session).counts_by_state(search_id)
    return _view(session, search, counts, lambda: is_served(session, search, settings))


def polled_view(session: Session, found: CountedSearch, *, served: bool) -> SearchView:
    """The search as a read found it: `found` and `served` were read for its ETag, and are not read again."""
    if found.stats is None:
        counts = TrialRepository(session).counts_by_state(found.search.id)
    else:
        counts = all_states(found.stats.counts)
    return _view(session, found.search, counts, lambda: served)


def _view(session: Session, search: Search, counts: dict[str, int], served: Callable[[], bool]) -> SearchView:
    best = TrialRepository(session).best(search.id, maximize=search.direction == "maximize", limit=1)
    strategy = strategy_for(search.spec).describe(search.strategy_state)
    waiting = _waiting_reason(search, counts[TrialState.QUEUED.value], served)
    return SearchView(search, counts, best[0] if best else None, strategy, waiting)


def is_served(session: Session, search: Search, settings: Settings) -> bool:
    """Whether a live worker runs the search's objective (always true of finished and external ones)."""
    if search.state != SearchState.RUNNING or search.objective == EXTERNAL:
        return True
    return search.objective in advertised_objectives(session, settings)


def _waiting_reason(search: Search, queued: int, served: Callable[[], bool]) -> str | None:
    """Why queued trials are not running: no live worker runs the objective (they wait, never fail).
    `served` is only asked when trials are queued."""
    if not queued or served():
        return None
    return (
        f"no live worker runs objective {search.objective!r}: {queued} queued trial(s) wait until one "
        "that has it installed starts (see GET /workers)"
    )


def best_trials(session: Session, search_id: int, k: int) -> Sequence[Trial]:
    search = get_search(session, search_id)
    return TrialRepository(session).best(search_id, maximize=search.direction == "maximize", limit=k)


def check_may_change(search: Search, caller: Caller) -> None:
    """Raise Forbidden unless `caller` may change `search` or its trials (submit keys: only their own)."""
    if not caller.may_change(search.created_by_key):
        raise Forbidden(
            f"the API key {caller.key_name!r} may cancel, re-test, nudge, branch, pause and stop only the "
            f"searches it created; search {search.id} was created by "
            + (repr(search.created_by_key) if search.created_by_key else "no key")
            + " (an admin key may change every search)"
        )


def cancel_search(session: Session, search_id: int, caller: Caller = ANYONE) -> Search:
    """Cancel a running search: queued, running and paused trials become cancelled (workers notice and
    stop). Cancelling a cancelled search changes nothing and answers the same, so clients may retry it."""
    search = SearchRepository(session).get_for_update(search_id)
    if search is None:
        raise NotFound(f"search {search_id} does not exist")
    check_may_change(search, caller)
    if search.state == SearchState.CANCELLED:
        return search
    if search.state != SearchState.RUNNING:
        raise Conflict(f"search {search_id} is already {search.state}")
    now = utcnow()
    trials = TrialRepository(session)
    for trial_id in trials.active_ids(search_id):
        trials.transition(trial_id, TrialState.CANCELLED, run_request=None, finished_at=now, updated_at=now)
    search.state = SearchState.CANCELLED.value
    search.finished_at = now
    search.updated_at = now
    prune_checkpoints(session, search_id, maximize=search.direction == "maximize")
    EventRepository(session).add(search_id, "search_cancelled")
    return search
