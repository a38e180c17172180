"""The RQ job: run one trial given its id. Everything else it needs comes from the database."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from app.domain.trial_state import TrialState
from app.queue import drop_jobs, enqueue_after_commit
from app.services.trial_batches import Refill, claim_queued
from app.services.trial_runs import ClaimedRun, Outcome, claim_trial
from app.storage.db import session_scope
from app.storage.models import utcnow
from caviar import InvalidParams, TrialDiverged, TrialPruned
from workers.chain import Chain, RunEnd
from workers.objectives.registry import get_objective, installed_objectives
from workers.platform_errors import DATABASE_ERRORS, platform_error
from workers.retry import StopRequested, retry_until_it_works
from workers.runtime import WorkerRuntime, current_runtime
from workers.trial_context import WorkerTrialContext

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    def claim() -> list[ClaimedRun]:
        with session_scope(database_url) as session:
            run = claim_trial(session, trial_id, runtime.worker_id)
            if run is None:
                return []
            refill = Refill(claimed=[run])
            if run.objective in installed_objectives():
                # A search already known to run cheap trials gets some claimed ahead from the start.
                needed, extra = Chain.ahead_of(runtime, run.search_id)
                claim_queued(
                    session, run.search_id, runtime.worker_id, needed=needed, extra=extra, refill=refill
                )
        drop_jobs(runtime.queues, refill.to_drop)
        return refill.claimed

    first = _when_the_database_answers(runtime, claim, f"trial {trial_id}: cannot claim it")
    if not first:
        log.debug("trial %s: not claimable (taken or no longer queued), skipped", trial_id)
        return
    chain = Chain(runtime, first)
    try:
        while (run := chain.next_run()) is not None:
            chain.done(run, _run_one(run, runtime))
    finally:
        chain.close()


def _run_one(run: ClaimedRun, runtime: WorkerRuntime) -> RunEnd:
    if run.objective not in installed_objectives():
        # Queues route trials by objective, so only a job left on a wrong queue by hand gets here.
        log.warning("trial %s: objective %r is not installed here, handed back", run.trial_id, run.objective)
        return "release"
    log.debug(
        "trial %s (search %s #%s) attempt %s: started", run.trial_id, run.search_id, run.number, run.attempt
    )
    started_at, started = utcnow(), time.monotonic()
    # While the search's trials are cheap here, its reports wait for the outcome's transaction.
    last = runtime.trial_seconds.get(run.search_id)
    cheap = last is not None and last < runtime.settings.cheap_trial_seconds
    outcome = _run(run, runtime, defer_epochs_for=runtime.settings.cheap_trial_seconds if cheap else 0.0)
    runtime.trial_seconds[run.search_id] = time.monotonic() - started
    if outcome == "lost":
        log.warning(
            "trial %s attempt %s: claim lost (cancelled or lease expired), dropped", run.trial_id, run.attempt
        )
    if isinstance(outcome, Outcome):
        return replace(outcome, started_at=started_at, finished_at=utcnow())
    return outcome


def _when_the_database_answers(runtime: WorkerRuntime, action: Callable[[], T], outage: str) -> T:
    """`action()`, tried again while the database is unreachable (restarting, say): the trial's claim or
    result waits for it rather than being dropped with the job."""
    return retry_until_it_works(
        runtime, action, DATABASE_ERRORS, outage=outage, recovered="the database answers again"
    )


def _run(run: ClaimedRun, runtime: WorkerRuntime, *, defer_epochs_for: float) -> RunEnd:
    runtime.current = run
    try:
        return execute(run, runtime, defer_epochs_for=defer_epochs_for)
    finally:
        runtime.current = None


def execute(run: ClaimedRun, runtime: WorkerRuntime, *, defer_epochs_for: float = 0.0) -> RunEnd:
    """Run the objective; returns the outcome to record, where to pause, "release" on shutdown, "platform"
    after a Redis or database error (the trial goes back to the queue), "lost" if the claim went. Reports
    no pruner judges in the first `defer_epochs_for` seconds are returned with the outcome, to be written
    with it."""
    context = WorkerTrialContext(
        run,
        runtime.settings.database_url,
        runtime.datasets,
        runtime.shutdown,
        checkpoint_min_seconds=runtime.settings.checkpoint_min_seconds,
        defer_epochs_for=defer_epochs_for,
        enqueue=lambda jobs: enqueue_after_commit(
            runtime.queues, jobs, timeout_seconds=runtime.settings.trial_timeout_seconds
        ),
    )
    outcome = _execute(run, runtime, context)
    if isinstance(outcome, Outcome) and context.deferred:
        return replace(outcome, epochs=tuple(context.deferred))
    return outcome


def _execute(run: ClaimedRun, runtime: WorkerRuntime, context: WorkerTrialContext) -> RunEnd:
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
