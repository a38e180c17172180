"""Population Based Training in the service: after a member's judged epoch, exploit and explore as a branch.

The decisions are app/domain/strategies/_pbt.py's; this module reads the population's values at the epoch,
and when the member is in the bottom quantile, branches a top member at its checkpoint with perturbed live
hyperparameters (app/services/branches.py) and tells the member's worker to stop it (it ends `pruned` at
that epoch). The branch takes the member's place: the population stays the same size, and its lineage is
the branch's (`parent_trial_id`, `branch_step`, `branch_params`), with a `trial_exploited` event naming
the member it replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.domain.catalog.objectives import builtin_objective_info
from app.domain.space import SearchSpace
from app.domain.strategies import Direction
from app.domain.strategies._pbt import (
    PbtOptions,
    Peer,
    choose_donor,
    exploit_rng,
    explore,
    judged_at,
)
from app.services.ask_tell import Enqueue
from app.services.branches import branch_trial, params_at
from app.storage.models import Search
from app.storage.repositories import CheckpointRepository, EventRepository, TrialRepository

EXPLOITED_BY = "pbt"
"""The `by` of the branches and events population-based training makes."""


def pbt_options(spec: Mapping[str, Any]) -> PbtOptions | None:
    """The stored spec's PBT options, or None when its strategy is another."""
    strategy = spec.get("strategy") or {}
    if strategy.get("kind") != "pbt":
        return None
    return PbtOptions(
        population=int(strategy["population"]),
        interval=int(strategy["interval"]),
        quantile=float(strategy["quantile"]),
        resample_probability=float(strategy["resample_probability"]),
    )


def judges(options: PbtOptions | None, params: Mapping[str, Any], step: int) -> bool:
    """Whether a member of `params` is ranked after `step` (its epochs, when it has them, end the run)."""
    if options is None:
        return False
    epochs = params.get("epochs")
    return judged_at(step, options, int(epochs) if isinstance(epochs, int | float) else step + 1)


def exploit_if_bottom(
    session: Session,
    search: Search,
    trial_id: int,
    number: int,
    step: int,
    value: float | None,
    options: PbtOptions,
) -> Enqueue | None:
    """Branch a top member in place of trial `trial_id` if its `value` at `step` ranks in the bottom
    quantile; returns the branch's job (stop the member), or None (it continues). Call it holding the
    search row's lock, taken before the trial's (the lock order of every writer)."""
    trials = TrialRepository(session)
    peers = [
        Peer(peer_id, peer_value)
        for peer_id, peer_value in trials.own_values_at_step(
            search.id, search.metric, step, exclude_trial_id=trial_id
        )
    ]
    direction: Direction = "maximize" if search.direction == "maximize" else "minimize"
    rng = exploit_rng(search.seed, number, step)
    donor_id = choose_donor(
        Peer(trial_id, value), peers, quantile=options.quantile, direction=direction, rng=rng
    )
    if donor_id is None:
        return None
    donor = trials.get(donor_id)
    checkpoints = CheckpointRepository(session)
    # The donor's checkpoint at this very epoch (judged epochs are always checkpointed), or its newest
    # one should thinning have dropped it: the branch then continues from further on, as in Ray Tune.
    origin = checkpoints.at(donor_id, step) or checkpoints.latest(donor_id)
    if donor is None or origin is None:
        return None
    params = params_at(donor, origin.step)
    info = builtin_objective_info(search.objective)
    changes = explore(
        params,
        SearchSpace.from_spec(search.spec["space"]),
        info.live_names(params) if info is not None else [],
        resample_probability=options.resample_probability,
        rng=rng,
    )
    branch, jobs = branch_trial(session, donor_id, origin.step, changes, by=EXPLOITED_BY)
    EventRepository(session).add(
        search.id,
        "trial_exploited",
        trial_id=trial_id,
        step=step,
        donor_trial_id=donor_id,
        branch_trial_id=branch.id,
        from_step=origin.step,
        changes=changes,
    )
    return jobs
