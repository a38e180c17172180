"""Ask/tell over HTTP: clients anywhere take the trials of an `external` search, report steps, tell results.

An asked trial is claimed exactly as a worker claims one (`running`, attempt + 1, a lease in
`heartbeat_at`); reports renew the lease; a tell records the result only while that attempt still holds
the claim. An expired lease puts the trial back for the next ask (the ask itself expires them, so a
stack without workers needs no reconciler), up to `max_attempts` runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from app.domain.trial_state import SearchState, TrialState
from app.errors import Conflict, InvalidRequest, NotFound
from app.services.reconcile import expire_leases
from app.services.specs import EXTERNAL
from app.services.trial_runs import (
    ClaimedRun,
    Outcome,
    claim_trial,
    finish_trial,
    record_epoch,
    requeue,
    run_of,
)
from app.settings import Settings
from app.storage.models import Search, Trial, utcnow
from app.storage.repositories import SearchRepository, TrialRepository

TellState = Literal["completed", "failed", "pruned", "released"]


@dataclass(frozen=True)
class Lease:
    """A trial handed to one asker until `expires_at`, unless a report renews it."""

    run: ClaimedRun
    expires_at: datetime


@dataclass(frozen=True)
class Verdict:
    should_stop: bool
    lease_expires_at: datetime


def ask(session: Session, search_id: int, settings: Settings, *, asker: str) -> Lease | None:
    """Claim the search's next queued trial for `asker`; None when none is available right now."""
    now = utcnow()
    search = SearchRepository(session).get_for_update(search_id)
    if search is None:
        raise NotFound(f"search {search_id} does not exist")
    _check_external(search)
    _check_running(search)
    expire_leases(session, settings, now, search_id=search_id)
    _check_running(search)  # its last attempts may just have run out
    trial_id = TrialRepository(session).next_queued(search_id)
    run = claim_trial(session, trial_id, asker) if trial_id is not None else None
    if run is None:
        return None
    return Lease(run, now + timedelta(seconds=settings.ask_lease_seconds))


def report(
    session: Session, trial_id: int, attempt: int, step: int, metrics: Mapping[str, float], settings: Settings
) -> Verdict:
    """Store one learning-curve point of a held trial, renew its lease, and ask the search's pruner."""
    trials = TrialRepository(session)
    trial, search = _trial_and_search(session, trial_id)
    if not trials.is_claimed_by(trial_id, attempt):
        raise Conflict(_not_held(trial, attempt))
    trials.clear_curve_step(trial_id, step)  # a retried report replaces its first delivery
    # The search metric's points only: loading every metric's would make each report read the whole
    # curve so far (a trial reporting 100 metrics for 100 steps read half a million rows in all).
    own_curve = {
        point_step: value
        for point_step, value in trials.metric_curve(trial_id, search.metric).items()
        if point_step != step
    }
    value = metrics.get(search.metric)
    if value is not None and math.isfinite(value):
        own_curve[step] = float(value)
    verdict = record_epoch(session, run_of(trial, search, attempt), step, metrics, own_curve)
    if verdict.claim_lost:
        raise Conflict(_not_held(trial, attempt))
    return Verdict(verdict.prune, utcnow() + timedelta(seconds=settings.ask_lease_seconds))


def tell(
    session: Session,
    trial_id: int,
    attempt: int,
    state: TellState,
    *,
    metrics: Mapping[str, float] | None = None,
    error: str | None = None,
) -> Trial:
    """Record how a held trial ended, or hand it back (`released`). Telling the same attempt the same
    thing again answers with the trial as recorded; anything else about a run that lost its claim is a
    Conflict."""
    trials = TrialRepository(session)
    trial, search = _trial_and_search(session, trial_id)
    SearchRepository(session).get_for_update(search.id)  # lock order: search row, then the trial
    trial = trials.get_fresh(trial_id) or trial
    if trial.attempt == attempt and trial.state == TrialState.RUNNING:
        if state == "released":
            requeue(session, search.id, trial_id, attempt, reason="released by its asker")
        else:
            outcome = _outcome(session, trial, search, state, metrics or {}, error)
            finish_trial(session, run_of(trial, search, attempt), outcome)
    elif not (trial.attempt == attempt and trial.state == _told_state(state)):
        raise Conflict(_not_held(trial, attempt))
    told = trials.get_fresh(trial_id)
    assert told is not None
    return told


def _outcome(
    session: Session,
    trial: Trial,
    search: Search,
    state: TellState,
    metrics: Mapping[str, float],
    error: str | None,
) -> Outcome:
    if state == "failed":
        return Outcome(TrialState.FAILED, metrics=metrics, error=error or "failed (its asker gave no error)")
    if state == "pruned":
        curve = TrialRepository(session).curve(trial.id)
        last_step = max((point.step for point in curve), default=None)
        last = {p.name: p.value for p in curve if p.step == last_step and p.value is not None}
        return Outcome(TrialState.PRUNED, metrics=metrics or last, pruned_step=last_step)
    value = metrics.get(search.metric)
    if value is None or not math.isfinite(value):
        raise InvalidRequest(
            "metrics",
            f"a completed trial needs a finite {search.metric!r}, the search's metric; "
            f'got {sorted(metrics)}. Tell {{"state": "failed", "error": ...}} if the run failed',
        )
    return Outcome(TrialState.COMPLETED, metrics=metrics, value=float(value))


def _told_state(state: TellState) -> TrialState:
    return TrialState.QUEUED if state == "released" else TrialState(state)


def _trial_and_search(session: Session, trial_id: int) -> tuple[Trial, Search]:
    trial = TrialRepository(session).get(trial_id)
    if trial is None:
        raise NotFound(f"trial {trial_id} does not exist")
    search = SearchRepository(session).get(trial.search_id)
    assert search is not None  # trials cascade with their search
    _check_external(search)
    return trial, search


def _check_external(search: Search) -> None:
    if search.objective != EXTERNAL:
        raise Conflict(
            f"search {search.id} runs on workers (objective {search.objective!r}); only searches whose "
            f"objective is {EXTERNAL!r} hand out trials to ask/tell clients"
        )


def _check_running(search: Search) -> None:
    if search.state != SearchState.RUNNING:
        raise Conflict(f"search {search.id} is already {search.state}")


def _not_held(trial: Trial, attempt: int) -> str:
    if attempt > trial.attempt:
        why = f"the trial has had {trial.attempt} attempt(s) so far"
    elif trial.attempt != attempt:
        why = f"its lease expired and attempt {trial.attempt} was handed out since"
    elif trial.state == TrialState.QUEUED:
        why = "its lease expired and the trial went back to the queue"
    else:
        why = f"the trial is {trial.state}"
    return f"trial {trial.id} attempt {attempt} no longer holds its lease: {why}"
