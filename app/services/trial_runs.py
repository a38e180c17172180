"""A worker's side of a trial: claim, report epochs (with the pruner's verdict), finish or hand back."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
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
    prune_after_results,
    resume_point,
    save_checkpoint,
)
from app.services.population import exploit_if_bottom, judges, pbt_options
from app.services.specs import dataset_reference
from app.storage.models import Search, Trial, utcnow
from app.storage.repositories import EventRepository, NudgeRepository, SearchRepository, TrialRepository
from app.storage.repositories.trials import curve_rows

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
    babysat: bool = False
    """A panda search's trial: checkpointed after every epoch, so that the user can branch from any."""

    def checkpoint_due(self, step: int) -> bool:
        return checkpoint_due(step, self.checkpoint_every)

    def checkpoint_forced(self, step: int) -> bool:
        """Whether the checkpoint after `step` is taken whatever the time floor between checkpoints says:
        a branch may start from it (a PBT member's ranked epoch; a panda trial's every `checkpoint_every`
        epochs)."""
        return self.judged_by_population(step) or (self.babysat and self.checkpoint_due(step))

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
class DeferredEpoch:
    """An epoch report a worker kept to write with the trial's outcome (a cheap trial that no pruner
    judges at that step: one transaction for the run instead of one per report)."""

    step: int
    metrics: Mapping[str, float]
    own_curve: Mapping[int, float]
    replaces: bool = False


@dataclass(frozen=True)
class Outcome:
    """How a run ended: `state` is completed, failed or pruned."""

    state: TrialState
    metrics: Mapping[str, float] = field(default_factory=dict)
    value: float | None = None
    error: str | None = None
    pruned_step: int | None = None
    started_at: datetime | None = None
    """When the objective started and ended, by the worker's clock; None: the claim's and the recording's
    time (a worker that records outcomes in batches, after the next trial started, passes its own)."""
    finished_at: datetime | None = None
    epochs: tuple[DeferredEpoch, ...] = ()
    """Reports to store before the outcome, in order."""
    stopped: Mapping[str, Any] | None = None
    """When a stop ended the trial: {step (the last one run), best_step, by}, the `trial_stopped` event's."""


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def claim_trial(session: Session, trial_id: int, worker_id: str) -> ClaimedRun | None:
    """Claim a queued trial; None when another worker won it or it is no longer queued."""
    trial = TrialRepository(session).claim(trial_id, worker_id, utcnow())
    if trial is None:
        return None
    search = SearchRepository(session).get(trial.search_id)
    assert search is not None  # trials cascade with their search
    return begin_run(session, trial, search)


def begin_run(session: Session, trial: Trial, search: Search) -> ClaimedRun:
    """What a claim of `trial` (its new attempt) sets up: its event, and for a run after a lost one the
    checkpoint it resumes from, its curve cut back to it, and the nudges applied since asked again."""
    events = EventRepository(session)
    events.add(search.id, "trial_started", trial_id=trial.id, attempt=trial.attempt)
    if trial.attempt == 1 and trial.parent_trial_id is None:
        # A first run: no checkpoint, curve or applied nudge before it (a branch's starts from its parent's).
        return replace(run_of(trial, search, 1), run_request=trial.run_request)
    trials = TrialRepository(session)
    resume = resume_point(session, trial.id)
    # Nudges applied after the state this attempt starts from are not in it: they are asked for again.
    NudgeRepository(session).reopen_after(trial.id, 0 if resume is None else resume.step)
    if resume is None:
        trials.clear_curve(trial.id)  # a previous, lost attempt's points
    else:
        # The curve up to the checkpoint stays: the run continues it, so it reads as one line.
        trials.clear_curve_after(trial.id, resume.step)
        # A branch's first attempt starts from its parent's checkpoint: `from_trial_id` says whose.
        origin = {"from_trial_id": resume.trial_id} if resume.trial_id != trial.id else {}
        events.add(
            search.id,
            "trial_resumed",
            trial_id=trial.id,
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
        babysat=(search.spec.get("strategy") or {}).get("kind") == "panda",
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
        save_checkpoint(session, run.trial_id, run.attempt, step, checkpoint, now, search_id=run.search_id)
    values = store_point(trials, EventRepository(session), run, step, metrics, replaces=replaces)
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


def store_point(
    trials: TrialRepository,
    events: EventRepository,
    run: ClaimedRun,
    step: int,
    metrics: Mapping[str, float],
    *,
    replaces: bool,
    points: list[dict[str, Any]] | None = None,
) -> dict[str, float | None]:
    """Add a learning-curve point of `run` and its `epoch` event (non-finite values as None); with
    `replaces`, a point already stored at `step` gives way. Returns the values stored. With `points`, the
    point's rows are appended there for the caller to insert (`TrialRepository.add_curve_points`)."""
    values = {name: finite_or_none(float(value)) for name, value in metrics.items()}
    if replaces:
        trials.clear_curve_step(run.trial_id, step)
    if points is None:
        trials.add_curve_point(run.trial_id, step, values)
    else:
        points += curve_rows(run.trial_id, step, values)
    events.add(run.search_id, "epoch", trial_id=run.trial_id, attempt=run.attempt, step=step, metrics=values)
    return values


def finish_trial(session: Session, run: ClaimedRun, outcome: Outcome) -> Enqueue:
    """Record the result if this run still holds the claim, then let the search propose more trials."""
    # Lock order everywhere: search row, then trial rows (cancel takes the same order); FOR NO KEY UPDATE
    # so the foreign-key checks of inserts that reference the search (events) never wait for it.
    search = SearchRepository(session).get_for_update(run.search_id)
    if not record_outcome(session, run, outcome):
        return []
    return advance_after_results(session, search, run.search_id, maximize=run.direction == "maximize")


def record_outcome(session: Session, run: ClaimedRun, outcome: Outcome) -> bool:
    """Record how the run ended if it still holds the claim; the caller holds the search row's lock."""
    return record_outcomes(session, [(run, outcome)]) == 1


def record_outcomes(session: Session, outcomes: Sequence[tuple[ClaimedRun, Outcome]]) -> int:
    """Record how runs ended, each only if it still holds its claim, in two round trips whatever their
    number: update the runs that still hold their claim (`TrialRepository.finish_claimed`), insert the
    events (and the reports the runs deferred, before their results). Returns how many were recorded;
    the caller holds the search row's lock."""
    trials = TrialRepository(session)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for run, outcome in outcomes:
        metrics = {name: finite_or_none(float(v)) for name, v in outcome.metrics.items()}
        rows.append(
            {
                "id": run.trial_id,
                "attempt": run.attempt,
                "search_id": run.search_id,
                "state": outcome.state.value,
                "value": outcome.value,
                "metrics": metrics,
                "metric_value": metrics.get(run.metric),
                "error": outcome.error,
                "pruned_step": outcome.pruned_step,
                "started_at": outcome.started_at or run_started_at(session, run),
                "finished_at": outcome.finished_at or now,
                "updated_at": now,
            }
        )
    held = trials.finish_claimed(rows)
    won: list[tuple[ClaimedRun, Outcome]] = []
    for run, outcome in outcomes:
        if run.trial_id in held:
            won.append((run, outcome))
        else:
            log.warning("trial %s attempt %s: result ignored, the claim was lost", run.trial_id, run.attempt)
    events = EventRepository(session)
    points: list[dict[str, Any]] = []
    for run, outcome in won:
        for epoch in outcome.epochs:  # written now that the run's claim held to the end
            store_point(
                trials, events, run, epoch.step, epoch.metrics, replaces=epoch.replaces, points=points
            )
        if outcome.stopped is not None:
            events.add(
                run.search_id, "trial_stopped", trial_id=run.trial_id, attempt=run.attempt, **outcome.stopped
            )
        events.add(
            run.search_id,
            f"trial_{outcome.state.value}",
            trial_id=run.trial_id,
            value=outcome.value,
            error=outcome.error,
            pruned_step=outcome.pruned_step,
        )
    trials.add_curve_points(points)  # the batch's reports, in one statement
    return len(won)


def run_started_at(session: Session, run: ClaimedRun) -> datetime | None:
    trial = session.get(Trial, run.trial_id)
    return None if trial is None else trial.started_at


def advance_after_results(
    session: Session, search: Search | None, search_id: int, *, maximize: bool
) -> Enqueue:
    """After one or more results of a search: propose more trials, drop checkpoints no longer needed.
    `search` is its row, locked by the caller in this transaction."""
    running = search is not None and search.state == SearchState.RUNNING
    to_enqueue = advance_search(session, search_id, utcnow(), locked=search) if running else []
    # After advancing: a search that failed just now cancelled its other trials, whose checkpoints go too.
    still_running = running and search is not None and search.state == SearchState.RUNNING
    prune_after_results(session, search_id, maximize=maximize, still_running=still_running)
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
