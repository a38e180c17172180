"""Branches run by a real worker: a branch from step k continues from exactly the parent's state at k."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from app.domain.catalog.mlp_params import validate_params
from app.services.checkpoints import resume_point
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.repositories import CheckpointRepository, TrialRepository
from caviar import CaviarClient
from tests.integration.helpers import quick_spec
from tests.integration.live_server import serve
from workers.datasets.builtin import load_builtin
from workers.nn.checkpoint import TrainingState
from workers.nn.train import Trainer
from workers.worker import run_worker

EPOCHS = 8
K = 3
"""The parent's step the branches start from."""
STALL = 1e-12
"""A learning rate at which the weights stand still: the branch's dev cost stays that of step K."""
SPEC = quick_spec(
    space={
        "n_layers": 2,
        "hidden_units": 32,
        "optimizer": "adam",
        "learning_rate": 0.01,
        "keep_prob": 0.8,  # dropout: the branch must continue the parent's random streams too
        "epochs": EPOCHS,
        "batch_size": 64,
    },
    budget={"max_trials": 1, "max_parallel": 1},
    checkpoint_every=1,
)


def curve(detail: dict[str, Any]) -> dict[int, dict[str, float | None]]:
    return {point["step"]: point["metrics"] for point in detail["curve"]}


def restored_and_saved(database_url: str, branch_id: int, parent_id: int) -> tuple[Trainer, TrainingState]:
    """A trainer for the branch restored the way its worker does it (its resume point, then its changes),
    and the parent's checkpoint at K as stored."""
    with session_scope(database_url) as session:
        branch = TrialRepository(session).get(branch_id)
        resume = resume_point(session, branch_id)
        saved = CheckpointRepository(session).at(parent_id, K)
        assert branch is not None and resume is not None and saved is not None
        params, seed, content = dict(branch.params), branch.seed, saved.content
    trainer = Trainer(validate_params(params), load_builtin("digits", {}), np.random.default_rng(seed))
    assert trainer.restore(resume.content) == K
    if resume.changes:
        trainer.nudge(resume.changes)
    return trainer, TrainingState.from_bytes(content)


def test_branches_continue_from_exactly_the_parents_state_at_their_step(settings: Settings) -> None:
    settings = settings.model_copy(update={"checkpoint_min_seconds": 0.0})
    with serve(settings) as url, CaviarClient(url) as client:
        search_id = client.submit(SPEC)["id"]
        run_worker(settings, burst=True)
        [parent] = client.trials(search_id)
        first_end = [event["id"] for event in client.events(search_id)][-1]

        same = client.branch(parent["id"], K)
        stalled = client.branch(parent["id"], K, learning_rate=STALL)
        restored = {
            branch["id"]: restored_and_saved(settings.database_url, branch["id"], parent["id"])
            for branch in (same, stalled)
        }
        assert client.search(search_id)["state"] == "running"  # reopened for its branches
        run_worker(settings, burst=True)
        details = {trial["id"]: client.trial(trial["id"]) for trial in client.trials(search_id)}
        later = list(client.events(search_id, after=first_end))
        table = {int(row["id"]): row for row in csv.DictReader(io.StringIO(client.trials_csv(search_id)))}
        search = client.search(search_id)

    # Restored as the worker restores it: the parent's weights, Adam's moments and step, and random
    # streams at K, bit for bit; the stalled branch with its new learning rate.
    for branch_id, (trainer, saved) in restored.items():
        assert np.array_equal(trainer.network.params, saved.params)
        assert np.array_equal(trainer.optimizer.first_moment, saved.first_moment)
        assert np.array_equal(trainer.optimizer.second_moment, saved.second_moment)
        assert trainer.optimizer.step == saved.optimizer_steps
        assert trainer.shuffle_rng.bit_generator.state == saved.rng_states["shuffle"]
        assert trainer.dropout_rng.bit_generator.state == saved.rng_states["dropout"]
        assert trainer.config.learning_rate == (STALL if branch_id == stalled["id"] else 0.01)

    # Unchanged, the branch reproduces the parent's curve after K and its final metrics exactly.
    parent_detail, same_detail, stalled_detail = (details[t["id"]] for t in (parent, same, stalled))
    assert same_detail["state"] == stalled_detail["state"] == "completed"
    assert curve(same_detail) == curve(parent_detail)
    assert len(curve(parent_detail)) == EPOCHS
    assert same_detail["metrics"] == parent_detail["metrics"]
    # Changed from K + 1: up to K the parent's curve, then weights that stand still.
    stalled_curve, parent_curve = curve(stalled_detail), curve(parent_detail)
    assert {step: stalled_curve[step] for step in range(1, K + 1)} == {
        step: parent_curve[step] for step in range(1, K + 1)
    }
    at_k = stalled_curve[K]["dev_cost"]
    assert at_k is not None
    for step in range(K + 1, EPOCHS + 1):
        assert abs(stalled_curve[step]["dev_cost"] - at_k) <= 1e-6 * at_k  # type: ignore[operator]
    assert abs(parent_curve[EPOCHS]["dev_cost"] - at_k) > 1e-3 * at_k  # type: ignore[operator]

    # Lineage in GET /trials/{id} and the CSV; the budget of one trial did not stop the branches.
    assert (stalled_detail["parent_trial_id"], stalled_detail["branch_step"]) == (parent["id"], K)
    assert stalled_detail["branch_params"] == {"learning_rate": STALL}
    assert json.loads(table[stalled["id"]]["branch_params"]) == {"learning_rate": STALL}
    assert table[same["id"]]["parent_trial_id"] == str(parent["id"])
    assert search["state"] == "completed" and search["counts"]["completed"] == 3

    # The event feed after the first completion: reopened, branched twice, each branch resumed from the
    # parent's checkpoint at K, completed again.
    kinds = [event["kind"] for event in later]
    assert kinds[0] == "search_reopened" and kinds[-1] == "search_completed"
    branched = {event["trial_id"]: event["payload"] for event in later if event["kind"] == "trial_branched"}
    assert branched == {
        same["id"]: {"parent_trial_id": parent["id"], "from_step": K, "params": {}, "by": "anyone"},
        stalled["id"]: {
            "parent_trial_id": parent["id"],
            "from_step": K,
            "params": {"learning_rate": STALL},
            "by": "anyone",
        },
    }
    resumed = {event["trial_id"]: event["payload"] for event in later if event["kind"] == "trial_resumed"}
    assert {trial_id: (p["step"], p["from_trial_id"]) for trial_id, p in resumed.items()} == {
        same["id"]: (K, parent["id"]),
        stalled["id"]: (K, parent["id"]),
    }
