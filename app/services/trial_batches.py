"""A worker's trials in bulk: several claimed in one transaction, several outcomes recorded and the next
trials claimed in another, so cheap trials do not pay a round trip (or a queue job) each.

Every claim and every result keeps its compare-and-set: a trial claimed ahead is `running`, leased to
the worker like the one it runs, so a worker that dies holding it loses it to the lease reconciler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from app.domain.trial_state import TrialState
from app.queue import TrialJob
from app.services.ask_tell import Enqueue
from app.services.trial_runs import (
    ClaimedRun,
    Outcome,
    advance_after_results,
    begin_run,
    record_outcomes,
    release_trial,
)
from app.storage.models import utcnow
from app.storage.repositories import SearchRepository, TrialRepository

Result = Outcome | Literal["release", "platform", "lost"]
"""How a run ended: an outcome to record, handed back (worker stopping, platform error), or claim lost."""


@dataclass
class Refill:
    """What one transaction did: the runs it claimed, the jobs to enqueue after the commit (new trials
    nobody claimed), and the jobs of trials it claimed off the queue, now to be dropped from it."""

    claimed: list[ClaimedRun] = field(default_factory=list)
    to_enqueue: Enqueue = field(default_factory=list)
    to_drop: Enqueue = field(default_factory=list)


def claim_queued(
    session: Session,
    search_id: int,
    worker_id: str,
    *,
    needed: int,
    extra: int,
    refill: Refill,
    proposed: int = 0,
) -> None:
    """Claim `needed` of the search's queued trials and up to `extra` more, oldest first. Of the trials
    that were queued before this transaction, take beyond `needed` at most half of the rest, leaving as
    many for other workers; the `proposed` trials this transaction just added (in the room its own
    results made) may all be taken back. Adds to `refill`."""
    if needed + extra <= 0:
        return
    trials = TrialRepository(session)
    # How many are queued, from the search's counters (read once per transaction, usually by the
    # ask-tell just before): a count a moment old at worst, since a claim re-checks each trial's state.
    queued = trials.counts_by_state(search_id)[TrialState.QUEUED.value]
    proposed = min(proposed, queued)
    waiting = min(queued - proposed, needed + 2 * extra)
    shared = min(waiting, needed) + max(0, min(extra, (waiting - needed) // 2))
    take = shared + min(proposed, needed + extra - shared)
    won = trials.claim_next(search_id, take, worker_id, utcnow())
    if not won:
        return
    search = SearchRepository(session).get(search_id)
    assert search is not None  # trials cascade with their search
    new_jobs = {job.trial_id: job for job in refill.to_enqueue}
    for trial in won:
        run = begin_run(session, trial, search)
        refill.claimed.append(run)
        if new_jobs.pop(trial.id, None) is None:
            refill.to_drop.append(TrialJob(trial.id, run.attempt - 1, run.objective))
    refill.to_enqueue = list(new_jobs.values())


def record_and_refill(
    session: Session,
    search_id: int,
    results: Sequence[tuple[ClaimedRun, Result]],
    worker_id: str,
    *,
    needed: int,
    extra: int,
    keep_proposed: bool = False,
) -> Refill:
    """Record `results` (runs of one search), propose what they make room for, and claim the next
    trials, in the caller's one transaction. With `keep_proposed` (trials far cheaper than recording
    them), the trials proposed in the room these results made may all be claimed back (`claim_queued`)."""
    refill = Refill()
    # Lock order everywhere: search row, then trial rows.
    search = SearchRepository(session).get_for_update(search_id)
    outcomes = [(run, result) for run, result in results if isinstance(result, Outcome)]
    # The results' inserts (events, deferred curve points) go out together at the next flush.
    with session.no_autoflush:
        recorded = record_outcomes(session, outcomes) > 0
        for run, result in results:
            if result == "release":
                refill.to_enqueue += release_trial(session, run)
            elif result == "platform":
                refill.to_enqueue += release_trial(session, run, reason="platform error")
    proposed: Enqueue = []
    if recorded:
        maximize = results[0][0].direction == "maximize"
        proposed = advance_after_results(session, search, search_id, maximize=maximize)
        refill.to_enqueue += proposed
    # Trials far cheaper than a recording transaction: those proposed in the room these results made go
    # back to this worker, which keeps its share of `max_parallel` instead of leaving half of it queued
    # until another worker's transaction (their jobs never reach Redis). Longer trials are left to the
    # half rule, so that an idle worker gets them rather than waiting behind this one's running trial.
    kept = len(proposed) if keep_proposed else 0
    claim_queued(session, search_id, worker_id, needed=needed, extra=extra, refill=refill, proposed=kept)
    return refill
