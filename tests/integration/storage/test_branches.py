"""Branching a trial in storage: lineage, the checkpoint it starts from, its place outside the budget, and
which checkpoints are kept for branches."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select, text

from app.domain.trial_state import TrialState
from app.errors import Conflict, InvalidSpec, NotFound
from app.services.ask_tell import advance_search
from app.services.branches import branch_trial, params_at
from app.services.checkpoints import CHECKPOINTS_PER_TRIAL
from app.services.trial_controls import apply_requests, request_nudge
from app.services.trial_runs import ClaimedRun, Outcome, claim_trial, finish_trial, record_epoch
from app.storage.db import session_scope
from app.storage.models import Event, Search, Trial, utcnow
from app.storage.repositories import CheckpointRepository, EventRepository, TrialRepository
from tests.integration.storage.factories import add_search_with_trials


def metrics(step: int) -> dict[str, float]:
    return {"dev_accuracy": 0.1 * step, "dev_cost": 1.0 / step}


def run_with_checkpoints(database_url: str, steps: int, **spec: Any) -> ClaimedRun:
    """The search's one trial, claimed, with a report and a checkpoint `after <step>` after every step."""
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session, **spec)
        run = claim_trial(session, trial.id, "w1")
        assert run is not None
    for step in range(1, steps + 1):
        with session_scope(database_url) as session:
            record_epoch(session, run, step, metrics(step), {}, f"after {step}".encode())
    return run


def events(database_url: str, kind: str) -> list[Event]:
    with session_scope(database_url) as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_a_branch_is_queued_with_its_lineage_the_parents_seed_and_curve_up_to_the_step(
    database_url: str,
) -> None:
    parent = run_with_checkpoints(database_url, 4)

    with session_scope(database_url) as session:
        branch, jobs = branch_trial(session, parent.trial_id, 2, {"learning_rate": 0.001})
        branch_id = branch.id
    with session_scope(database_url) as session:
        stored = TrialRepository(session).get(branch_id)
        assert stored is not None
        curve = sorted(
            {(point.step, point.name, point.value) for point in TrialRepository(session).curve(branch_id)}
        )

    assert [(job.trial_id, job.attempt, job.objective) for job in jobs] == [(branch_id, 0, "mlp")]
    assert (stored.state, stored.number, stored.round, stored.seed) == ("queued", 1, None, parent.seed)
    assert (stored.parent_trial_id, stored.branch_step, stored.branch_params) == (
        parent.trial_id,
        2,
        {"learning_rate": 0.001},
    )
    assert stored.params == {**parent.params, "learning_rate": 0.001}
    assert curve == sorted((step, name, value) for step in (1, 2) for name, value in metrics(step).items())
    [event] = events(database_url, "trial_branched")
    assert event.trial_id == branch_id
    assert event.payload == {
        "parent_trial_id": parent.trial_id,
        "from_step": 2,
        "params": {"learning_rate": 0.001},
        "by": "anyone",
    }


def test_a_branch_starts_from_the_parents_checkpoint_and_then_from_its_own(database_url: str) -> None:
    parent = run_with_checkpoints(database_url, 3)
    with session_scope(database_url) as session:
        branch, _ = branch_trial(session, parent.trial_id, 2, {"l2": 0.5})

    with session_scope(database_url) as session:
        run = claim_trial(session, branch.id, "w2")
        assert run is not None
    [resumed] = events(database_url, "trial_resumed")

    assert run.resume is not None
    assert (run.resume.trial_id, run.resume.step, run.resume.content) == (parent.trial_id, 2, b"after 2")
    assert run.resume.changes == {"l2": 0.5}
    assert resumed.payload == {"attempt": 1, "step": 2, "from_attempt": 1, "from_trial_id": parent.trial_id}

    # Its own checkpoint holds its changes already: a later attempt resumes from it, changing nothing more.
    with session_scope(database_url) as session:
        record_epoch(session, run, 3, metrics(3), {}, b"branch after 3")
        TrialRepository(session).transition(
            branch.id, TrialState.QUEUED, attempt=1, sources=[TrialState.RUNNING]
        )
        again = claim_trial(session, branch.id, "w3")
    assert again is not None and again.resume is not None
    assert (again.resume.trial_id, again.resume.step, again.resume.changes) == (branch.id, 3, {})


def test_a_branch_takes_the_parents_nudged_hyperparameters_up_to_its_step(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, (trial,) = add_search_with_trials(session)
        run = claim_trial(session, trial.id, "w1")
        assert run is not None
    for step, nudge in ((1, 0.02), (2, 0.03)):
        with session_scope(database_url) as session:
            request_nudge(session, trial.id, {"learning_rate": nudge})
        with session_scope(database_url) as session:
            verdict = record_epoch(session, run, step, metrics(step), {}, f"after {step}".encode())
            apply_requests(
                session, run.search_id, run.trial_id, step + 1, list(verdict.controls), lambda c: dict(c)
            )

    with session_scope(database_url) as session:
        parent = TrialRepository(session).get(trial.id)
        assert parent is not None
        at_1, at_2 = params_at(parent, 1), params_at(parent, 2)
        branch, _ = branch_trial(session, trial.id, 2, {"l2": 0.1})

    # The nudge applied after step 1 took effect from step 2, so the checkpoint after 2 holds it.
    assert at_1["learning_rate"] == 0.01 and at_2["learning_rate"] == 0.02
    assert branch.params == {**at_2, "l2": 0.1}


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"epochs": 10}, "params.epochs", "not live-adjustable"),
        ({"learning_rate": 0}, "params.learning_rate", "must be in"),
        ({"colour": "red"}, "params.colour", "not live-adjustable"),
    ],
)
def test_a_change_the_objective_does_not_allow_live_is_refused_naming_it(
    database_url: str, changes: Mapping[str, Any], field: str, reason: str
) -> None:
    parent = run_with_checkpoints(database_url, 2)

    with session_scope(database_url) as session, pytest.raises(InvalidSpec) as refused:
        branch_trial(session, parent.trial_id, 1, changes)

    assert refused.value.field == field and reason in refused.value.message
    assert events(database_url, "trial_branched") == []


def test_a_step_without_a_checkpoint_is_refused_listing_the_steps_kept(database_url: str) -> None:
    parent = run_with_checkpoints(database_url, 3)
    with session_scope(database_url) as session:
        _, (bare,) = add_search_with_trials(session)

    with session_scope(database_url) as session, pytest.raises(InvalidSpec) as refused:
        branch_trial(session, parent.trial_id, 7, {})
    with session_scope(database_url) as session, pytest.raises(InvalidSpec) as none:
        branch_trial(session, bare.id, 1, {})
    with session_scope(database_url) as session, pytest.raises(NotFound):
        branch_trial(session, 999_999, 1, {})

    assert refused.value.field == "from_step"
    assert "no checkpoint at step 7; its checkpoints are at steps 1, 2, 3" in refused.value.message
    assert none.value.field == "from_step" and "it has none" in none.value.message


def test_a_branch_runs_outside_the_trial_budget_and_strategies_never_see_it(database_url: str) -> None:
    budget = {"max_trials": 2, "max_parallel": 1}
    parent = run_with_checkpoints(database_url, 2, budget=budget)
    with session_scope(database_url) as session:
        branch, _ = branch_trial(session, parent.trial_id, 1, {})
    with session_scope(database_url) as session:
        finish_trial(session, parent, Outcome(TrialState.COMPLETED, metrics(2), value=0.2))
        # The budget has room for one more proposal (the branch is not one), but max_parallel is taken by the
        # queued branch.
        assert advance_search(session, parent.search_id) == []
        branch_run = claim_trial(session, branch.id, "w2")
        assert branch_run is not None
    with session_scope(database_url) as session:
        [job] = finish_trial(session, branch_run, Outcome(TrialState.COMPLETED, metrics(2), value=0.2))
        proposed = TrialRepository(session).get(job.trial_id)
        assert proposed is not None
        search = session.get(Search, parent.search_id)
        assert search is not None
        # The strategy's second trial is number 2 (the branch took number 1) and ends the budget.
        assert (proposed.number, proposed.parent_trial_id, search.strategy_state) == (
            2,
            None,
            {"proposed": 2},
        )


def test_branching_a_completed_search_reopens_it_until_the_branch_ends(database_url: str) -> None:
    parent = run_with_checkpoints(database_url, 2, budget={"max_trials": 1, "max_parallel": 1})
    with session_scope(database_url) as session:
        finish_trial(session, parent, Outcome(TrialState.COMPLETED, metrics(2), value=0.2))
        assert session.get(Search, parent.search_id).state == "completed"  # type: ignore[union-attr]

    with session_scope(database_url) as session:
        branch, _ = branch_trial(session, parent.trial_id, 2, {"learning_rate": 0.05})
        assert session.get(Search, parent.search_id).state == "running"  # type: ignore[union-attr]
        run = claim_trial(session, branch.id, "w2")
        assert run is not None
    with session_scope(database_url) as session:
        assert finish_trial(session, run, Outcome(TrialState.COMPLETED, metrics(3), value=0.3)) == []
        search = session.get(Search, parent.search_id)
        assert search is not None and search.state == "completed"

    assert [event.payload for event in events(database_url, "search_reopened")] == [
        {"reason": f"trial {branch.id} branched"}
    ]
    assert len(events(database_url, "search_completed")) == 2


def test_a_cancelled_searchs_trials_cannot_be_branched(database_url: str) -> None:
    parent = run_with_checkpoints(database_url, 1)
    with session_scope(database_url) as session:
        session.get(Search, parent.search_id).state = "cancelled"  # type: ignore[union-attr]

    with session_scope(database_url) as session, pytest.raises(Conflict, match="cancelled"):
        branch_trial(session, parent.trial_id, 1, {})


def test_a_trial_keeps_a_bounded_number_of_checkpoints_plus_those_branched_from(database_url: str) -> None:
    parent = run_with_checkpoints(database_url, 3)
    with session_scope(database_url) as session:
        branch_trial(session, parent.trial_id, 1, {})
    for step in range(4, 4 + 3 * CHECKPOINTS_PER_TRIAL):
        with session_scope(database_url) as session:
            record_epoch(session, parent, step, metrics(step), {}, f"after {step}".encode())

    with session_scope(database_url) as session:
        kept = CheckpointRepository(session).steps(parent.trial_id)
        latest = CheckpointRepository(session).latest(parent.trial_id)

    last = 3 + 3 * CHECKPOINTS_PER_TRIAL
    assert kept[0] == (1, True)  # pinned by the branch
    assert len(kept) == CHECKPOINTS_PER_TRIAL + 1 and not any(pinned for _, pinned in kept[1:])
    assert latest is not None and (latest.step, latest.content) == (last, f"after {last}".encode())


def test_finished_trials_keep_only_the_best_ones_and_the_branched_from_checkpoints(database_url: str) -> None:
    with session_scope(database_url) as session:
        _, trials = add_search_with_trials(session, n_trials=2)
        runs = [claim_trial(session, trial.id, "w1") for trial in trials]
    for step in (1, 2, 3):
        with session_scope(database_url) as session:
            for run in runs:
                assert run is not None
                record_epoch(session, run, step, metrics(step), {}, f"after {step}".encode())
    worse, best = (run for run in runs if run is not None)
    with session_scope(database_url) as session:
        branch_trial(session, worse.trial_id, 2, {})
    with session_scope(database_url) as session:
        finish_trial(session, best, Outcome(TrialState.COMPLETED, metrics(3), value=0.9))
        finish_trial(session, worse, Outcome(TrialState.COMPLETED, metrics(3), value=0.1))
        checkpoints = CheckpointRepository(session)
        kept = {run.trial_id: checkpoints.steps(run.trial_id) for run in (worse, best)}

    assert kept == {worse.trial_id: [(2, True)], best.trial_id: [(1, False), (2, False), (3, False)]}


def test_trials_repository_lists_branches_apart_from_the_strategys_trials(database_url: str) -> None:
    parent = run_with_checkpoints(database_url, 1)
    with session_scope(database_url) as session:
        branch_trial(session, parent.trial_id, 1, {})
    with session_scope(database_url) as session:
        trials = TrialRepository(session)
        numbers = [number for number, *_ in trials.history(parent.search_id)]
        count = trials.branch_count(parent.search_id)
        all_trials = session.scalars(select(Trial.number).where(Trial.search_id == parent.search_id)).all()

    assert (numbers, count, sorted(all_trials)) == ([0], 1, [0, 1])


def test_branching_while_the_parents_worker_reports_an_epoch_does_not_deadlock(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: no row locks to interleave")
    parent = run_with_checkpoints(database_url, 2)
    outcome: dict[str, Any] = {}

    def branch() -> None:
        try:
            with session_scope(database_url) as session:
                outcome["branch"] = branch_trial(session, parent.trial_id, 1, {})[0].id
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = error

    # The worker's epoch report: it holds the parent's row (its lease), then adds an event, whose foreign
    # key share-locks the search row the branch holds by then.
    with session_scope(database_url) as report:
        assert TrialRepository(report).renew_lease(parent.trial_id, parent.attempt, utcnow()) is not None
        thread = threading.Thread(target=branch)
        thread.start()
        wait_until_a_backend_waits_for_a_lock(database_url)
        EventRepository(report).add(parent.search_id, "epoch", trial_id=parent.trial_id, step=3)
        report.flush()
    thread.join(timeout=60)

    assert not thread.is_alive() and "error" not in outcome, outcome
    assert outcome["branch"] is not None


def wait_until_a_backend_waits_for_a_lock(database_url: str) -> None:
    """Until another connection to this database waits for a row lock (the branch, for the parent's row).
    Asked on a connection of its own: a transaction sees pg_stat_activity as it was when it first looked."""
    deadline = time.monotonic() + 60
    statement = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    while True:
        with session_scope(database_url) as session:
            if session.execute(statement).scalar():
                return
        assert time.monotonic() < deadline, "the branch never waited for the parent's row"
        time.sleep(0.05)


def test_a_branchs_copied_points_are_not_a_second_peer_for_pruners_or_pbt(database_url: str) -> None:
    parent = run_with_checkpoints(database_url, 3)
    with session_scope(database_url) as session:
        branch, _ = branch_trial(session, parent.trial_id, 2, {})
        branch_id = branch.id
    with session_scope(database_url) as session:
        run = claim_trial(session, branch_id, "w2")
        assert run is not None
        record_epoch(session, run, 3, {"dev_accuracy": 0.9, "dev_cost": 0.1}, {})
    with session_scope(database_url) as session:
        trials = TrialRepository(session)
        # Seen by a third trial: at step 2 only the parent trained it; at step 3 both did.
        at_2 = trials.metric_at_step(parent.search_id, "dev_accuracy", 2, exclude_trial_id=-1)
        at_3 = trials.metric_at_step(parent.search_id, "dev_accuracy", 3, exclude_trial_id=-1)
        own_2 = trials.own_values_at_step(parent.search_id, "dev_accuracy", 2, exclude_trial_id=-1)

    assert at_2 == [("running", 0.2)] and own_2 == [(parent.trial_id, 0.2)]
    assert sorted(value for _, value in at_3) == [pytest.approx(0.3), 0.9]
