"""A worker's side of a trial: claim, report epochs (with the pruner's verdict), finish or hand back."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from app.domain.pruners import CurveRecord, build_pruner
from app.domain.strategies._pbt import PbtOptions
from app.domain.trial_state import SearchState, TrialState
from app.services.ask_tell import Enqueue, advance_search, jobs_of
from app.services.checkpoints import (
    DEFAULT_CHECKPOINT_EVERY,
    ResumePoint,
    checkpoint_due,
    prune_checkpoints,
    resume_point,
    save_checkpoint,
)
from app.services.population import exploit_if_bottom, judges, pbt_options
from app.services.specs import dataset_reference
from app.storage.models import Search, Trial, utcnow
from app.storage.repositories import EventRepository, NudgeRepository, SearchRepository, TrialRepository

log = logging.getLogger(__name__)


class TrialRun(NamedTuple):
    id: int
    attempt: int


@dataclass(frozen=True)
class ClaimedRun:
    """One run (attempt) of a trial, as the worker that claimed it knows it."""

    trial_id: int
    attempt: int
    search_id: int
    number: int
    params: dict[str, Any]
    seed: int
    objective: str
    dataset: str | None
    dataset_options: dict[str, Any]
    metric: str
    direction: str
    pruner: dict[str, Any] | None
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    """Epochs between checkpoints (0: none)."""
    resume: ResumePoint | None = field(default=None, repr=False)
    """The checkpoint this attempt starts from, left by an earlier one; None: start from scratch."""
    run_request: dict[str, Any] | None = None
    """A pause or stop asked before this attempt began (`trials.run_request`); later ones come by reports."""
    pbt: PbtOptions | None = None
    """The search's population-based training options; None: its strategy is another."""

    def checkpoint_due(self, step: int) -> bool:
        return checkpoint_due(step, self.checkpoint_every)

    def judged_by_population(self, step: int) -> bool:
        """Whether population-based training ranks the run after `step`: its checkpoint there is taken
        whatever the checkpoint interval and time floor say, since a branch may start from it."""
        return judges(self.pbt, self.params, step)


@dataclass(frozen=True)
class EpochVerdict:
    claim_lost: bool = False
    prune: bool = False
    controls: tuple[dict[str, Any], ...] = ()
    """Nudge requests pending for the trial, oldest first (see app/services/trial_controls.py)."""
    run_request: dict[str, Any] | None = None
    """A pause or stop asked of the trial (see app/services/trial_pauses.py)."""
    enqueue: Enqueue = field(default_factory=list)
    """Jobs to enqueue once the report has committed: the branch that replaces a pruned PBT member."""


@dataclass(frozen=True)
class Outcome:
    """How a run ended: `state` is completed, failed or pruned."""

    state: TrialState
    metrics: Mapping[str, float] = field(default_factory=dict)
    value: float | None = None
    error: str | None = None
    pruned_step: int | None = None
    stopped: Mapping[str, Any] | None = None
    """When a stop ended the trial: {step (the last one run), best_step, by}, the `trial_stopped` event's."""


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def claim_trial(session: Session, trial_id: int, worker_id: str) -> ClaimedRun | None:
    """Claim a queued trial; None when another worker won it or it is no longer queued."""
    trials = TrialRepository(session)
    trial = trials.claim(trial_id, worker_id, utcnow())
    if trial is None:
        return None
    search = SearchRepository(session).get(trial.search_id)
    assert search is not None  # trials cascade with their search
    events = EventRepository(session)
    events.add(search.id, "trial_started", trial_id=trial_id, attempt=trial.attempt)
    resume = resume_point(session, trial_id)
    # Nudges applied after the state this attempt starts from are not in it: they are asked for again.
    NudgeRepository(session).reopen_after(trial_id, 0 if resume is None else resume.step)
    if resume is None:
        trials.clear_curve(trial_id)  # a previous, lost attempt's points
    else:
        # The curve up to the checkpoint stays: the run continues it, so it reads as one line.
        trials.clear_curve_after(trial_id, resume.step)
        # A branch's first attempt starts from its parent's checkpoint: `from_trial_id` says whose.
        origin = {"from_trial_id": resume.trial_id} if resume.trial_id != trial_id else {}
        events.add(
            search.id,
            "trial_resumed",
            trial_id=trial_id,
            attempt=trial.attempt,
            step=resume.step,
            from_attempt=resume.attempt,
            **origin,
        )
    return replace(run_of(trial, search, trial.attempt), resume=resume, run_request=trial.run_request)


def run_of(trial: Trial, search: Search, attempt: int) -> ClaimedRun:
    """What a run of `trial` (its `attempt`) needs to know, read off the trial and its search."""
    dataset_name, dataset_options = dataset_reference(search.spec.get("dataset"))
    return ClaimedRun(
        trial_id=trial.id,
        attempt=attempt,
        search_id=search.id,
        number=trial.number,
        params=dict(trial.params),
        seed=trial.seed,
        objective=search.objective,
        dataset=dataset_name,
        dataset_options=dataset_options,
        metric=search.metric,
        direction=search.direction,
        pruner=search.spec.get("pruner"),
        checkpoint_every=search.spec.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY),
        pbt=pbt_options(search.spec),
    )


def record_epoch(
    session: Session,
    run: ClaimedRun,
    step: int,
    metrics: Mapping[str, float],
    own_curve: Mapping[int, float],
    checkpoint: bytes | None = None,
    *,
    replaces: bool = False,
) -> EpochVerdict:
    """Store one learning-curve point (and the checkpoint taken after it), renew the lease and ask the
    pruner; `own_curve` includes `step`. With `replaces`, a point already stored at `step` gives way."""
    trials = TrialRepository(session)
    now = utcnow()
    judged = run.judged_by_population(step)
    # A PBT member may branch another member here: the search row is locked first, as by every writer.
    search = SearchRepository(session).get_for_update(run.search_id) if judged else None
    renewal = trials.renew_lease(run.trial_id, run.attempt, now)
    if renewal is None:
        return EpochVerdict(claim_lost=True)
    controls, run_request = tuple(renewal.controls), renewal.run_request
    if checkpoint is not None:
        save_checkpoint(session, run.trial_id, run.attempt, step, checkpoint, now)
    values = {name: finite_or_none(float(value)) for name, value in metrics.items()}
    if replaces:
        trials.clear_curve_step(run.trial_id, step)
    trials.add_curve_point(run.trial_id, step, values)
    EventRepository(session).add(
        run.search_id, "epoch", trial_id=run.trial_id, attempt=run.attempt, step=step, metrics=values
    )
    if search is not None and run.pbt is not None and search.state == SearchState.RUNNING:
        jobs = exploit_if_bottom(
            session, search, run.trial_id, run.number, step, values.get(run.metric), run.pbt
        )
        if jobs is not None:
            return EpochVerdict(prune=True, controls=controls, run_request=run_request, enqueue=jobs)
    pruner = build_pruner(run.pruner, direction="maximize" if run.direction == "maximize" else "minimize")
    if values.get(run.metric) is None or not pruner.judges_at(step):
        return EpochVerdict(controls=controls, run_request=run_request)
    peers = trials.metric_at_step(run.search_id, run.metric, step, exclude_trial_id=run.trial_id)
    others = [CurveRecord(state=state, values={step: value}) for state, value in peers]
    prune = pruner.should_prune(step, own_curve, others)
    return EpochVerdict(prune=prune, controls=controls, run_request=run_request)


def finish_trial(session: Session, run: ClaimedRun, outcome: Outcome) -> Enqueue:
    """Record the result if this run still holds the claim, then let the search propose more trials."""
    now = utcnow()
    # Lock order everywhere: search row, then trial rows (cancel takes the same order); FOR NO KEY UPDATE
    # so the foreign-key checks of inserts that reference the search (events) never wait for it.
    search = SearchRepository(session).get_for_update(run.search_id)
    metrics = {name: finite_or_none(float(v)) for name, v in outcome.metrics.items()}
    won = TrialRepository(session).transition(
        run.trial_id,
        outcome.state,
        attempt=run.attempt,
        sources=[TrialState.RUNNING],
        value=outcome.value,
        metrics=metrics,
        metric_value=metrics.get(run.metric),
        error=outcome.error,
        pruned_step=outcome.pruned_step,
        run_request=None,  # a pause or stop asked too late: the trial ended first
        finished_at=now,
        updated_at=now,
    )
    if not won:
        log.warning("trial %s attempt %s: result ignored, the claim was lost", run.trial_id, run.attempt)
        return []
    if outcome.stopped is not None:
        EventRepository(session).add(
            run.search_id, "trial_stopped", trial_id=run.trial_id, attempt=run.attempt, **outcome.stopped
        )
    EventRepository(session).add(
        run.search_id,
        f"trial_{outcome.state.value}",
        trial_id=run.trial_id,
        value=outcome.value,
        error=outcome.error,
        pruned_step=outcome.pruned_step,
    )
    running = search is not None and search.state == SearchState.RUNNING
    to_enqueue = advance_search(session, run.search_id, now) if running else []
    # After advancing: a search that failed just now cancelled its other trials, whose checkpoints go too.
    prune_checkpoints(session, run.search_id, maximize=run.direction == "maximize")
    return to_enqueue


def release_trial(session: Session, run: ClaimedRun, *, reason: str = "worker stopped") -> Enqueue:
    """Hand a run back to the queue (the worker is stopping, or the platform failed under it); nothing
    is recorded against it, and its attempt still counts."""
    return requeue(session, run.search_id, run.trial_id, run.attempt, reason=reason)


def requeue(session: Session, search_id: int, trial_id: int, attempt: int, *, reason: str) -> Enqueue:
    """Put run `attempt` of a running trial back in the queue, if that run still holds the claim."""
    search = SearchRepository(session).get_for_update(search_id)
    assert search is not None  # trials cascade with their search
    requeued = TrialRepository(session).transition(
        trial_id,
        TrialState.QUEUED,
        attempt=attempt,
        sources=[TrialState.RUNNING],
        worker_id=None,
        heartbeat_at=None,
        updated_at=utcnow(),
    )
    if not requeued:
        return []
    EventRepository(session).add(search_id, "trial_requeued", trial_id=trial_id, reason=reason)
    return jobs_of(search, [TrialRun(trial_id, attempt)])
