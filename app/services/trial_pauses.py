"""Pause, resume and stop a trial: asked through the API, done by the worker that runs it.

The request is a column of the trial (`trials.run_request`: {action: pause | stop, by, requested_at}), so it
survives restarts of the API and of workers. The run holding the claim reads it with its next epoch report
(in the lease renewal, like nudges) and acts at the end of that epoch: a pause checkpoints the run and
releases the trial (`paused`, no worker, no lease); a stop finishes it as `completed` with the best epoch so
far. Both are conditional on the claim, like every result, so a pause racing with the trial's completion
records one of the two, never both. A queued trial is paused at once; a paused one is stopped by running
it again, which restores its checkpoint and ends it before training further.

Repeating a request answers as the first did (pausing a paused trial, resuming a queued one), so clients
may retry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.domain.api_keys import ANYONE, Caller
from app.domain.trial_state import TERMINAL_STATES, TrialState
from app.errors import Conflict, NotFound
from app.services.ask_tell import Enqueue, jobs_of
from app.services.checkpoints import save_checkpoint
from app.services.searches import check_may_change
from app.services.specs import EXTERNAL
from app.services.trial_runs import ClaimedRun, TrialRun, requeue
from app.storage.models import Search, Trial, utcnow
from app.storage.repositories import EventRepository, SearchRepository, TrialRepository

Action = Literal["pause", "stop"]


@dataclass(frozen=True)
class RunControl:
    """What a pause, resume or stop request did: `settled` when the trial is already in the state asked
    for (200), not when its worker has yet to act at the end of the current epoch (202)."""

    trial: Trial
    settled: bool
    to_enqueue: Enqueue


def pause(session: Session, trial_id: int, caller: Caller = ANYONE) -> RunControl:
    """Pause a queued trial now, or ask a running one to checkpoint and pause after its current epoch."""
    search, trial = _locked(session, trial_id, caller)
    request = trial.run_request or {}
    if trial.state == TrialState.PAUSED:
        return RunControl(trial, settled=True, to_enqueue=[])
    if trial.state == TrialState.QUEUED and request.get("action") != "stop":
        _move(session, trial, TrialState.QUEUED, TrialState.PAUSED, run_request=None)
        EventRepository(session).add(
            search.id, "trial_paused", trial_id=trial.id, attempt=trial.attempt, step=None, by=_by(caller)
        )
        return RunControl(trial, settled=True, to_enqueue=[])
    if trial.state == TrialState.RUNNING and request.get("action") != "stop":
        if not request:
            _ask(trial, _request("pause", caller))
        return RunControl(trial, settled=False, to_enqueue=[])
    raise Conflict(_refusal(trial, "paused", "a queued or running trial"))


def resume(session: Session, trial_id: int, caller: Caller = ANYONE) -> RunControl:
    """Put a paused trial back in the queue (the next worker continues from its checkpoint); a pause asked
    of a running trial and not done yet is called off. A queued or running trial is left as it is."""
    search, trial = _locked(session, trial_id, caller)
    request = trial.run_request or {}
    if trial.state == TrialState.PAUSED:
        _move(session, trial, TrialState.PAUSED, TrialState.QUEUED)
        EventRepository(session).add(
            search.id, "trial_requeued", trial_id=trial.id, reason="resumed", by=_by(caller)
        )
        return RunControl(
            trial, settled=True, to_enqueue=jobs_of(search, [TrialRun(trial.id, trial.attempt)])
        )
    if trial.state in (TrialState.QUEUED, TrialState.RUNNING) and request.get("action") != "stop":
        if request:
            _ask(trial, None)
        return RunControl(trial, settled=True, to_enqueue=[])
    raise Conflict(_refusal(trial, "resumed", "a paused trial"))


def stop(session: Session, trial_id: int, caller: Caller = ANYONE) -> RunControl:
    """Ask a running trial to end after its current epoch as completed, with its best epoch so far; a paused
    one is queued again to end that way as soon as a worker restores it. A pending pause gives way."""
    search, trial = _locked(session, trial_id, caller)
    request = trial.run_request or {}
    if trial.state == TrialState.COMPLETED:
        return RunControl(trial, settled=True, to_enqueue=[])
    stopping = request.get("action") == "stop"
    if trial.state == TrialState.RUNNING or (trial.state == TrialState.QUEUED and stopping):
        if request.get("action") != "stop":
            _ask(trial, _request("stop", caller))
        return RunControl(trial, settled=False, to_enqueue=[])
    if trial.state == TrialState.PAUSED:
        _move(session, trial, TrialState.PAUSED, TrialState.QUEUED, run_request=_request("stop", caller))
        EventRepository(session).add(
            search.id, "trial_requeued", trial_id=trial.id, reason="stop requested", by=_by(caller)
        )
        jobs = jobs_of(search, [TrialRun(trial.id, trial.attempt)])
        return RunControl(trial, settled=False, to_enqueue=jobs)
    raise Conflict(_refusal(trial, "stopped", "a running or paused trial"))


def pause_run(
    session: Session, run: ClaimedRun, step: int, checkpoint: bytes | None, request: dict[str, Any]
) -> Enqueue:
    """Record that run `run` paused after `step` (storing `checkpoint`, taken then) and release the trial,
    if the run still holds the claim. A pause called off meanwhile (resumed, or turned into a stop) hands
    the run back to the queue instead, with its checkpoint, for the next run to go on (or stop) from;
    returns what to enqueue then."""
    now = utcnow()
    # The search row first, as every request takes it: no resume or stop changes the request meanwhile.
    search = SearchRepository(session).get_for_update(run.search_id)
    assert search is not None  # trials cascade with their search
    trials = TrialRepository(session)
    trial = trials.get_fresh(run.trial_id)
    if trial is None or (trial.run_request or {}).get("action") != "pause":
        to_enqueue = requeue(session, run.search_id, run.trial_id, run.attempt, reason="pause called off")
        if to_enqueue and checkpoint is not None:
            save_checkpoint(
                session, run.trial_id, run.attempt, step, checkpoint, now, search_id=run.search_id
            )
        return to_enqueue
    paused = trials.transition(
        run.trial_id,
        TrialState.PAUSED,
        attempt=run.attempt,
        sources=[TrialState.RUNNING],
        worker_id=None,
        heartbeat_at=None,
        run_request=None,
        updated_at=now,
    )
    if not paused:
        return []
    if checkpoint is not None:
        save_checkpoint(session, run.trial_id, run.attempt, step, checkpoint, now, search_id=run.search_id)
    EventRepository(session).add(
        run.search_id,
        "trial_paused",
        trial_id=run.trial_id,
        attempt=run.attempt,
        step=step,
        by=request.get("by", "anyone"),
    )
    return []


def _locked(session: Session, trial_id: int, caller: Caller) -> tuple[Search, Trial]:
    """The trial and its search, both rows locked (search first: the lock order everywhere)."""
    found = TrialRepository(session).get(trial_id)
    if found is None:
        raise NotFound(f"trial {trial_id} does not exist")
    search = SearchRepository(session).get_for_update(found.search_id)
    assert search is not None  # trials cascade with their search
    check_may_change(search, caller)
    if search.objective == EXTERNAL:
        raise Conflict(
            f"trial {trial_id} belongs to an external (ask/tell) search, whose client runs it: pause, "
            "resume and stop it there"
        )
    session.refresh(found, with_for_update=True)  # the state as of the lock, not as first read
    return search, found


def _move(session: Session, trial: Trial, source: TrialState, target: TrialState, **values: Any) -> None:
    won = TrialRepository(session).transition(
        trial.id, target, sources=[source], updated_at=utcnow(), **values
    )
    assert won, "the trial's row is locked in this transaction"
    session.refresh(trial)


def _request(action: Action, caller: Caller) -> dict[str, Any]:
    return {"action": action, "by": _by(caller), "requested_at": utcnow().isoformat()}


def _ask(trial: Trial, request: dict[str, Any] | None) -> None:
    """Set (or, with None, call off) the trial's pending request; the change is what pollers see."""
    trial.run_request = request
    trial.updated_at = utcnow()


def _by(caller: Caller) -> str:
    return caller.key_name or "anyone"


def _refusal(trial: Trial, done: str, which: str) -> str:
    if trial.state not in TERMINAL_STATES and (trial.run_request or {}).get("action") == "stop":
        return f"trial {trial.id} is {trial.state} and stopping (a stop was asked); it cannot be {done}"
    return f"trial {trial.id} is {trial.state}; only {which} can be {done}"
