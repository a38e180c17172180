"""Live controls of a running trial: ask for a nudge (the API), apply it between epochs (the worker).

The database holds both sides: `trials.controls_pending` (requests, oldest first) and `trials.nudges` (what
the run applied, from which step, old -> new, by whom, when). A worker learns of requests in its epoch
report's transaction, applies them before its next epoch and records that in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.domain.api_keys import ANYONE, Caller
from app.domain.catalog.objectives import builtin_objective_info
from app.domain.trial_state import TrialState
from app.errors import Conflict, InvalidSpec, NotFound
from app.services.searches import check_may_change
from app.storage.models import Trial, utcnow
from app.storage.repositories import EventRepository, NudgeRepository, SearchRepository
from caviar import InvalidParams

Apply = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""Changes a live run's hyperparameters and returns their old values (see `caviar.LiveTrial`)."""


def request_nudge(
    session: Session, trial_id: int, controls: Mapping[str, Any], caller: Caller = ANYONE
) -> Trial:
    """Ask a running trial to change live hyperparameters from its next epoch; nothing is written unless
    the request is valid. Raises NotFound, Forbidden (a submit key nudges its own searches' trials only),
    InvalidSpec naming the control, or Conflict when the trial is not running."""
    nudges = NudgeRepository(session)
    trial = nudges.get_for_update(trial_id)
    if trial is None:
        raise NotFound(f"trial {trial_id} does not exist")
    search = SearchRepository(session).get(trial.search_id)
    assert search is not None  # trials cascade with their search
    check_may_change(search, caller)
    check_controls(search.objective, trial.params, controls)
    if trial.state != TrialState.RUNNING:
        raise Conflict(f"trial {trial_id} is {trial.state}; only a running trial can be nudged")
    now = utcnow()
    request = {"changes": dict(controls), "by": caller.key_name or "anyone", "requested_at": now.isoformat()}
    nudges.add_request(trial, request, now)
    return trial


def check_controls(
    objective: str, params: Mapping[str, Any], controls: Mapping[str, Any], *, prefix: str = ""
) -> None:
    """Raise InvalidSpec on `<prefix><name>` unless the objective lets a trial of `params` change
    `controls` live (nudges; branches, with prefix `params.`)."""
    info = builtin_objective_info(objective)
    if info is None or info.validate_controls is None:
        name = next(iter(controls), "controls")
        raise InvalidSpec(prefix + name, f"objective {objective!r} has no live-adjustable hyperparameters")
    try:
        info.validate_controls(params, controls)
    except InvalidParams as error:
        raise InvalidSpec(prefix + error.name, error.message) from error


def apply_requests(
    session: Session, search_id: int, trial_id: int, step: int, requests: list[dict[str, Any]], apply: Apply
) -> None:
    """Apply `requests` (the trial's pending ones, oldest first) to the live run with `apply`, effective
    from `step`, and record each as a nudge and a `trial_nudged` event."""
    now = utcnow()
    applied = []
    for request in requests:
        old = apply(request["changes"])
        changes = {name: {"old": old[name], "new": new} for name, new in request["changes"].items()}
        nudge = {
            "step": step,
            "changes": changes,
            "by": request["by"],
            "requested_at": request["requested_at"],
        }
        applied.append({**nudge, "at": now.isoformat()})
        EventRepository(session).add(search_id, "trial_nudged", trial_id=trial_id, **applied[-1])
    NudgeRepository(session).mark_applied(trial_id, applied, now)
