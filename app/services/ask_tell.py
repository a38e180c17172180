"""Ask the strategy for more trials, under the search row's lock; shared by the API and the workers."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, overload

import numpy as np
from sqlalchemy.orm import Session

from app.domain.strategies import TrialRecord
from app.domain.trial_state import ACTIVE_STATES, SearchState, TrialState
from app.queue import TrialJob
from app.services.specs import EXTERNAL, strategy_for
from app.storage.models import Search, Trial, utcnow
from app.storage.repositories import EventRepository, SearchRepository, TrialRepository

log = logging.getLogger(__name__)

Enqueue = list[TrialJob]
"""Trial runs to put on their objective's queue once the transaction has committed."""

DEFAULT_MAX_FAILED_TRIALS = 10  # what `budget.max_failed_trials` defaults to; older stored specs lack it


def trial_seed(search_seed: int, number: int) -> int:
    """A training seed per trial, derived so that a search's trials are reproducible one by one."""
    return int(np.random.SeedSequence([search_seed, number]).generate_state(1, dtype=np.uint32)[0])


def records_of(trials: Sequence[Trial]) -> list[TrialRecord]:
    return [
        TrialRecord(number=t.number, params=t.params, state=t.state, value=t.value, round=t.round)
        for t in trials
    ]


class StoredHistory(Sequence[TrialRecord]):
    """A search's trials as strategy records: the length is known up front, the records read on first use.

    Branches (app/services/branches.py) are left out, and each record's `number` is its position among the
    strategy's own trials: the numbering strategies give their proposals (len(history), len(history) + 1,
    …) and keep in their state. Without branches that is the trial's number.

    Random, Sobol' and grid strategies only take the length, so a finishing trial no longer reads every
    trial of its search (O(n) per trial, O(n²) per search); coarse-to-fine reads them when a round is
    full. Must be read before new trials are inserted, which `advance_search` guarantees.
    """

    def __init__(self, trials: TrialRepository, search_id: int, count: int) -> None:
        self._trials = trials
        self._search_id = search_id
        self._count = count
        self._records: list[TrialRecord] | None = None

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> TrialRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[TrialRecord]: ...

    def __getitem__(self, index: int | slice) -> TrialRecord | list[TrialRecord]:
        return self._loaded()[index]

    def __iter__(self) -> Iterator[TrialRecord]:
        return iter(self._loaded())

    def _loaded(self) -> list[TrialRecord]:
        if self._records is None:
            self._records = [
                TrialRecord(number=position, params=params, state=state, value=value, round=round_)
                for position, (_, params, state, value, round_) in enumerate(
                    self._trials.history(self._search_id)
                )
            ]
        return self._records


def advance_search(
    session: Session, search_id: int, now: datetime | None = None, *, locked: Search | None = None
) -> Enqueue:
    """Top the search up to its parallelism with new proposals, or mark it completed when nothing is left.

    Locks the search row first (`locked`: the caller locked it already in this transaction, which saves
    a round trip), so concurrent callers (workers finishing trials at the same time) take turns and never
    number two trials alike. A search with `budget.max_failed_trials` failed trials, or one that ends
    with failures and nothing completed, is marked failed instead. Trials of an external search are not
    enqueued: clients ask for them.
    """
    now = now or utcnow()
    search = locked if locked is not None else SearchRepository(session).get_for_update(search_id)
    if search is None or search.state != SearchState.RUNNING:
        return []
    trials_repo = TrialRepository(session)
    counts, branches = trials_repo.counts_and_branches(search_id)
    total = sum(counts.values())
    budget = search.spec["budget"]
    active = sum(counts[state.value] for state in ACTIVE_STATES)
    failed = counts[TrialState.FAILED.value]
    if failed >= budget.get("max_failed_trials", DEFAULT_MAX_FAILED_TRIALS):
        _fail(session, search, now)
        return []
    # Branches run outside the budget of trials (a user's explicit branch runs even when it is spent) but
    # take a place among the parallel ones while they are active.
    proposed = total - branches
    room = min(budget["max_parallel"] - active, budget["max_trials"] - proposed)
    strategy = strategy_for(search.spec)
    history = StoredHistory(trials_repo, search_id, proposed)
    new_trials: list[NewTrial] = []
    if room > 0:
        proposals, strategy_state = strategy.propose(history, search.strategy_state, room)
        search.strategy_state = strategy_state
        rounded = any(proposal.round is not None for proposal in proposals)
        old_round = trials_repo.max_round(search_id) if rounded else None
        # Inserted as rows, not ORM objects: nothing in this transaction reads them back as objects (a
        # claim loads the ones it takes), and the unit of work was a worker's largest cost per trial.
        rows = [
            {
                "search_id": search_id,
                "number": total + offset,
                "round": proposal.round,
                "params": proposal.params,
                "seed": trial_seed(search.seed, total + offset),
                "created_at": now,
                "updated_at": now,
            }
            for offset, proposal in enumerate(proposals)
        ]
        ids = trials_repo.add_queued(rows)
        new_trials = [
            NewTrial(trial_id, 0, proposal.round) for trial_id, proposal in zip(ids, proposals, strict=True)
        ]
        _record_round_advance(session, search, old_round, new_trials)
    if active == 0 and not new_trials:
        if failed and not counts[TrialState.COMPLETED.value]:
            _fail(session, search, now)
        else:
            _complete(session, search, now)
    return jobs_of(search, new_trials)


class NewTrial(NamedTuple):
    """A trial `advance_search` just inserted (queued, attempt 0)."""

    id: int
    attempt: int
    round: int | None


def jobs_of(search: Search, trials: Sequence[Any]) -> Enqueue:
    """The queue jobs of `trials` (anything with `id` and `attempt`); none for an external search."""
    if search.objective == EXTERNAL:
        return []
    return [TrialJob(trial.id, trial.attempt, search.objective) for trial in trials]


def _record_round_advance(
    session: Session, search: Search, old_round: int | None, new: Sequence[NewTrial]
) -> None:
    new_round = max((t.round for t in new if t.round is not None), default=None)
    if new_round is not None and (old_round is None or new_round > old_round):
        strategy = strategy_for(search.spec)
        EventRepository(session).add(
            search.id, "round_advanced", round=new_round, strategy=strategy.describe(search.strategy_state)
        )


def _complete(session: Session, search: Search, now: datetime) -> None:
    search.state = SearchState.COMPLETED.value
    search.finished_at = now
    search.updated_at = now
    EventRepository(session).add(search.id, "search_completed")
    log.info("search %s completed", search.id)


def _fail(session: Session, search: Search, now: datetime) -> None:
    """End the search as failed, naming its first trial error; its queued and running trials are cancelled."""
    trials = TrialRepository(session)
    for trial_id in trials.active_ids(search.id):
        trials.transition(trial_id, TrialState.CANCELLED, run_request=None, finished_at=now, updated_at=now)
    first = trials.first_failure(search.id)
    search.error = f"trial {first[0]} failed: {first[1]}" if first else "its trials failed"
    search.state = SearchState.FAILED.value
    search.finished_at = now
    search.updated_at = now
    EventRepository(session).add(search.id, "search_failed", error=search.error)
    log.info("search %s failed: %s", search.id, search.error)
