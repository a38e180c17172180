"""Rebuild what Redis or a dead worker lost, from the trials table alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.domain.trial_state import TrialState
from app.queue import TrialJob, TrialQueues, jobs_alive
from app.services.ask_tell import Enqueue, advance_search
from app.services.checkpoints import prune_checkpoints
from app.services.specs import EXTERNAL
from app.services.trial_runs import requeue
from app.settings import Settings
from app.storage.models import Trial
from app.storage.repositories import EventRepository, SearchRepository, TrialRepository

log = logging.getLogger(__name__)


def expire_leases(
    session: Session, settings: Settings, now: datetime, *, search_id: int | None = None
) -> Enqueue:
    """Running trials whose worker (or asker) went silent go back to queued, or fail after max_attempts.

    All searches' trials, or only those of `search_id` (what an ask does before handing out a trial).
    """
    expired = TrialRepository(session).expired_leases(
        now - timedelta(seconds=settings.lease_seconds),
        asked_cutoff=now - timedelta(seconds=settings.ask_lease_seconds),
        asked_objective=EXTERNAL,
        search_id=search_id,
    )
    return _expire(session, settings, now, expired)


def _expire(session: Session, settings: Settings, now: datetime, expired: Sequence[Trial]) -> Enqueue:
    trials = TrialRepository(session)
    events = EventRepository(session)
    to_enqueue: Enqueue = []
    for trial in expired:
        search = SearchRepository(session).get_for_update(trial.search_id)
        if trial.attempt >= settings.max_attempts:
            error = f"lost: its worker stopped heartbeating in each of {trial.attempt} attempt(s)"
            if trials.transition(
                trial.id,
                TrialState.FAILED,
                attempt=trial.attempt,
                sources=[TrialState.RUNNING],
                error=error,
                run_request=None,
                finished_at=now,
                updated_at=now,
            ):
                events.add(trial.search_id, "trial_failed", trial_id=trial.id, error=error)
                to_enqueue += advance_search(session, trial.search_id, now, locked=search)
                maximize = search is not None and search.direction == "maximize"
                prune_checkpoints(session, trial.search_id, maximize=maximize)
        else:
            log.warning("trial %s: lease of %s expired, re-queued", trial.id, trial.worker_id)
            to_enqueue += requeue(session, trial.search_id, trial.id, trial.attempt, reason="lease expired")
    return to_enqueue


def lost_jobs(session: Session, queues: TrialQueues, settings: Settings, now: datetime) -> Enqueue:
    """Queued trials with no job on Redis (queue flushed, or enqueue failed after commit); external
    searches' trials have none to lose: clients ask for them."""
    grace = timedelta(seconds=2 * settings.heartbeat_seconds)
    rows = TrialRepository(session).queued_since_before(now - grace, skip_objective=EXTERNAL)
    queued = [TrialJob(*row) for row in rows]
    if not queued:
        return []
    lost = [job for job, alive in zip(queued, jobs_alive(queues, queued), strict=True) if not alive]
    if lost:
        log.warning("re-enqueueing %d queued trial(s) whose job was lost", len(lost))
    return lost
