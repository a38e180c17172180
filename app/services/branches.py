"""Branch a trial: a new trial of the same search that continues another's checkpoint at a step, with some
live hyperparameters changed ("what if I had lowered α at epoch 12"). Used by the API and, through
`branch_trial`, by any strategy that copies and perturbs trials (population-based training).

The branch shares its parent's seed (its split, initialisation and random streams continue the parent's),
gets the parent's learning curve up to the step (one continuous line), and is queued like any trial; the
worker that claims it restores the parent's checkpoint, then applies the changes (app/services/
checkpoints.py `resume_point`). Branches are outside the strategy: they do not count against
`budget.max_trials`, and strategies never see them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.domain.api_keys import ANYONE, Caller
from app.domain.trial_state import SearchState, TrialState
from app.errors import Conflict, InvalidSpec, NotFound
from app.services.ask_tell import Enqueue, jobs_of
from app.services.searches import check_may_change
from app.services.trial_controls import check_controls
from app.storage.models import Trial, utcnow
from app.storage.repositories import (
    CheckpointRepository,
    EventRepository,
    NudgeRepository,
    SearchRepository,
    TrialRepository,
)

BRANCHABLE_SEARCH_STATES = frozenset({SearchState.RUNNING, SearchState.COMPLETED})


def branch_trial(
    session: Session,
    parent_id: int,
    from_step: int,
    changes: Mapping[str, Any],
    caller: Caller = ANYONE,
    *,
    by: str | None = None,
) -> tuple[Trial, Enqueue]:
    """Insert a queued branch of trial `parent_id` from its checkpoint at `from_step` with `changes` (live
    hyperparameters, possibly none), record a `trial_branched` event, and return the branch with the job
    to enqueue once the transaction has committed.

    A completed search runs again while its branch does (a `search_reopened` event; it completes again when
    nothing is active). Raises NotFound; Forbidden (a submit key branches only its own searches' trials);
    Conflict when the search was cancelled or failed; InvalidSpec on `params.<name>` for a change the
    objective does not allow, or on `from_step` when the parent has no checkpoint at that step (the
    message lists the steps it has). `by` names who branched in the event when it is not the caller
    (population-based training).
    """
    trials = TrialRepository(session)
    search_id = trials.search_id_of(parent_id)
    if search_id is None:
        raise NotFound(f"trial {parent_id} does not exist")
    # Lock order everywhere: search row, then trial rows. The parent's row lock keeps its worker from
    # thinning the checkpoint away before the branch (which pins it) commits; the parent is first loaded
    # under it, so its nudges are current.
    search = SearchRepository(session).get_for_update(search_id)
    assert search is not None  # trials cascade with their search
    parent = NudgeRepository(session).get_for_update(parent_id)
    assert parent is not None
    check_may_change(search, caller)
    if search.state not in BRANCHABLE_SEARCH_STATES:
        raise Conflict(
            f"search {search.id} is {search.state}; only a running or completed search takes branches"
        )
    at_step = params_at(parent, from_step)
    if changes:  # none: continue the parent's run unchanged
        check_controls(search.objective, at_step, changes, prefix="params.")
    _check_checkpoint(CheckpointRepository(session), parent, from_step)
    now = utcnow()
    counts = trials.counts_by_state(search.id)
    (branch,) = trials.add_many(
        [
            Trial(
                search_id=search.id,
                number=sum(counts.values()),
                round=None,
                params={**at_step, **changes},
                seed=parent.seed,
                state=TrialState.QUEUED.value,
                attempt=0,
                parent_trial_id=parent.id,
                branch_step=from_step,
                branch_params=dict(changes),
                created_at=now,
                updated_at=now,
            )
        ]
    )
    trials.copy_curve(parent.id, branch.id, up_to_step=from_step)
    events = EventRepository(session)
    if search.state == SearchState.COMPLETED:
        # Running again until the branch ends (`advance_search` then completes it, proposing nothing more).
        search.state = SearchState.RUNNING.value
        search.finished_at = None
        search.updated_at = now
        events.add(search.id, "search_reopened", reason=f"trial {branch.id} branched")
    events.add(
        search.id,
        "trial_branched",
        trial_id=branch.id,
        parent_trial_id=parent.id,
        from_step=from_step,
        params=dict(changes),
        by=by or caller.key_name or "anyone",
    )
    return branch, jobs_of(search, [branch])


def params_at(trial: Trial, step: int) -> dict[str, Any]:
    """The trial's hyperparameters in its checkpoint after `step`: its own, with the nudges it applied
    from step `step` or earlier (a nudge's step is the first it trained with the new values)."""
    params = dict(trial.params)
    for nudge in trial.nudges or []:
        if nudge["step"] <= step:
            params.update({name: change["new"] for name, change in nudge["changes"].items()})
    return params


def _check_checkpoint(checkpoints: CheckpointRepository, parent: Trial, step: int) -> None:
    """Raise InvalidSpec on `from_step` unless the parent has a checkpoint after `step`."""
    steps = [kept for kept, _ in checkpoints.steps(parent.id)]
    if step in steps:
        return
    available = (
        f"its checkpoints are at steps {', '.join(map(str, steps))}"
        if steps
        else "it has none (a trial stores one every `checkpoint_every` epochs, at most one per "
        "CAVIAR_CHECKPOINT_MIN_SECONDS of training, and a finished trial keeps only those of the "
        "search's best trial and those branches were taken from)"
    )
    raise InvalidSpec("from_step", f"trial {parent.id} has no checkpoint at step {step}; {available}")
