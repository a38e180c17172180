"""The RQ job: run one trial given its id. Everything else it needs comes from the database."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Literal, TypeVar

from app.domain.trial_state import TrialState
from app.queue import enqueue_after_commit
from app.services.ask_tell import Enqueue
from app.services.trial_pauses import pause_run
from app.services.trial_runs import ClaimedRun, Outcome, claim_trial, finish_trial, release_trial
from app.storage.db import session_scope
from caviar import InvalidParams, TrialDiverged, TrialPruned
from workers.objectives.registry import get_objective, installed_objectives
from workers.platform_errors import DATABASE_ERRORS, platform_error
from workers.retry import StopRequested, retry_until_it_works
from workers.runtime import WorkerRuntime, current_runtime
from workers.trial_context import PausePoint, WorkerTrialContext

log = logging.getLogger(__name__)
T = TypeVar("T")
RunEnd = Outcome | PausePoint | Literal["release", "platform", "lost"]
"""How a run ends: a result to record, a pause, or the trial handed back (or already gone)."""


def run_trial(trial_id: int) -> None:
    """Claim, run, record. Never raises for a trial's own failure: that is data, not a worker crash."""
    runtime = current_runtime()
    try:
        _claim_run_record(trial_id, runtime)
    except StopRequested:
        # Stopped while the database was away: an unclaimed trial keeps its job for the lost-job
        # scan; a claimed one, its lease, which expires and re-queues it.
        log.warning("trial %s: worker stopping while the database is unreachable; left as it is", trial_id)


def _claim_run_record(trial_id: int, runtime: WorkerRuntime) -> None:
    database_url = runtime.settings.database_url

    def claim() -> ClaimedRun | None:
        with session_scope(database_url) as session:
            return claim_trial(session, trial_id, runtime.worker_id)

    run = _when_the_database_answers(runtime, claim, f"trial {trial_id}: cannot claim it")
    if run is None:
        log.info("trial %s: not claimable (taken or no longer queued), skipped", trial_id)
        return
    if run.objective not in installed_objectives():
        # Queues route trials by objective, so only a job left on a wrong queue by hand gets here.
        log.warning("trial %s: objective %r is not installed here, handed back", trial_id, run.objective)
        outcome: RunEnd = "release"
    else:
        log.info(
            "trial %s (search %s #%s) attempt %s: started", trial_id, run.search_id, run.number, run.attempt
        )
        outcome = _run(run, runtime)
    if outcome == "lost":
        log.warning(
            "trial %s attempt %s: claim lost (cancelled or lease expired), dropped", trial_id, run.attempt
        )
        return

    def record() -> Enqueue:
        with session_scope(database_url) as session:
            if outcome == "release":
                return release_trial(session, run)
            if outcome == "platform":
                return release_trial(session, run, reason="platform error")
            if isinstance(outcome, PausePoint):
                return pause_run(session, run, outcome.step, outcome.checkpoint, outcome.request)
            return finish_trial(session, run, outcome)

    # Retried as a whole: each try is one transaction that first checks this run still holds the claim,
    # so a try whose commit went through unseen makes the next one a no-op, never a second result.
    to_enqueue = _when_the_database_answers(runtime, record, f"trial {trial_id}: cannot record its outcome")
    enqueue_after_commit(runtime.queues, to_enqueue, timeout_seconds=runtime.settings.trial_timeout_seconds)
    if isinstance(outcome, Outcome):
        log.info("trial %s: %s (value=%s)", trial_id, outcome.state.value, outcome.value)
    elif isinstance(outcome, PausePoint):
        log.info("trial %s: paused after step %s", trial_id, outcome.step)


def _when_the_database_answers(runtime: WorkerRuntime, action: Callable[[], T], outage: str) -> T:
    """`action()`, tried again while the database is unreachable (restarting, say): the trial's claim or
    result waits for it rather than being dropped with the job."""
    return retry_until_it_works(
        runtime, action, DATABASE_ERRORS, outage=outage, recovered="the database answers again"
    )


def _run(run: ClaimedRun, runtime: WorkerRuntime) -> RunEnd:
    runtime.current = run
    try:
        return execute(run, runtime)
    finally:
        runtime.current = None


def execute(run: ClaimedRun, runtime: WorkerRuntime) -> RunEnd:
    """Run the objective; returns the outcome to record, where to pause, "release" on shutdown, "platform"
    after a Redis or database error (the trial goes back to the queue), "lost" if the claim went."""
    context = WorkerTrialContext(
        run,
        runtime.settings.database_url,
        runtime.datasets,
        runtime.shutdown,
        checkpoint_min_seconds=runtime.settings.checkpoint_min_seconds,
        enqueue=lambda jobs: enqueue_after_commit(
            runtime.queues, jobs, timeout_seconds=runtime.settings.trial_timeout_seconds
        ),
    )
    returned = False
    try:
        objective = get_objective(run.objective)
        metrics = dict(objective(run.params, context))
        returned = True
    except TrialPruned:
        metrics = {}
        if context.stop_reason is None:
            context.stop_reason = "pruned"
    except TrialDiverged as error:
        return Outcome(TrialState.FAILED, error=f"diverged: {error}")
    except InvalidParams as error:
        return Outcome(TrialState.FAILED, error=f"invalid parameters: {error}")
    except Exception as error:
        platform = platform_error(error)
        if platform is None:
            log.exception("trial %s attempt %s: objective raised", run.trial_id, run.attempt)
            return Outcome(TrialState.FAILED, error=f"{type(error).__name__}: {error}")
        # Redis or the database failed under the trial: not the objective's fault, so not its result.
        if run.attempt >= runtime.settings.max_attempts:
            log.error(
                "trial %s attempt %s: platform error on the last attempt: %s",
                run.trial_id,
                run.attempt,
                platform,
            )
            return Outcome(TrialState.FAILED, error=f"platform error on every attempt, last: {platform}")
        log.warning(
            "trial %s attempt %s: platform error, handing it back: %s", run.trial_id, run.attempt, platform
        )
        return "platform"
    if context.stop_reason == "shutdown":
        return "release"
    if context.stop_reason == "claim_lost":
        return "lost"
    if context.stop_reason == "paused" and context.pause is not None and not returned:
        return context.pause
    if context.stop_reason == "stopped":
        return _stopped(run, context, metrics if returned else None)
    if context.stop_reason == "pruned":
        # What the curve said when the pruner stopped it, so a pruned trial still shows where it stood.
        return Outcome(
            TrialState.PRUNED, metrics=metrics or context.last_metrics, pruned_step=context.last_step
        )
    value = metrics.get(run.metric)
    if value is None:
        return Outcome(
            TrialState.FAILED,
            metrics=metrics,
            error=f"the objective returned no {run.metric!r} (it returned {sorted(metrics)})",
        )
    if not math.isfinite(value):
        return Outcome(TrialState.FAILED, metrics=metrics, error=f"diverged: final {run.metric} is {value}")
    return Outcome(TrialState.COMPLETED, metrics=metrics, value=float(value))


def _stopped(run: ClaimedRun, context: WorkerTrialContext, metrics: dict[str, float] | None) -> RunEnd:
    """A run someone stopped: completed with what the objective returned (a `StoppableTrial` objective
    returns its best step's), else with the metrics of the best step it reported."""
    best = context.best_reported()
    request = context.stop_request or {}
    if metrics is None:
        if best is None:
            return Outcome(TrialState.FAILED, error="stopped before it reported a step")
        metrics = best[1]
    resumed_at = run.resume.step if run.resume is not None else None
    stopped = {
        "step": context.last_step if context.last_step is not None else resumed_at,
        "best_step": int(metrics["best_epoch"]) if "best_epoch" in metrics else best and best[0],
        "by": request.get("by", "anyone"),
    }
    value = metrics.get(run.metric)
    if value is None or not math.isfinite(value):
        return Outcome(TrialState.FAILED, metrics=metrics, error=f"stopped with no finite {run.metric!r}")
    return Outcome(TrialState.COMPLETED, metrics=metrics, value=float(value), stopped=stopped)
