"""The `mlp` objective with a trial that keeps checkpoints: a killed run resumes where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from caviar import CheckpointingTrial, Dataset
from workers.datasets.builtin import load_builtin
from workers.objectives.mlp import mlp

PARAMS = {
    "epochs": 8,
    "hidden_units": 16,
    "batch_norm": True,
    "keep_prob": 0.8,
    "l2": 0.01,
    "lr_decay": "inverse_time",
    "learning_rate": 0.01,
}


class WorkerKilled(Exception):
    """Stands for SIGKILL: the run ends after a report, without a word to anyone."""


@dataclass
class CheckpointedTrial:
    """A `caviar.CheckpointingTrial` that keeps a checkpoint every `every` reports and can be killed."""

    dataset: Dataset
    resume: bytes | None = None
    every: int = 1
    kill_after: int | None = None
    seed: int = 4
    trial_id: int = 1
    reports: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    checkpoint: bytes | None = None
    save: Callable[[], bytes] | None = None

    @property
    def params(self) -> dict[str, object]:
        return PARAMS

    def load_dataset(self) -> Dataset:
        return self.dataset

    def report(self, step: int, **metrics: float) -> None:
        self.reports.append((step, metrics))
        if self.save is not None and step % self.every == 0:
            self.checkpoint = self.save()
        if step == self.kill_after:
            raise WorkerKilled

    def should_stop(self) -> bool:
        return False

    def resume_from(self) -> bytes | None:
        return self.resume

    def checkpoint_with(self, save: Callable[[], bytes]) -> None:
        self.save = save


def test_the_test_double_is_a_checkpointing_trial() -> None:
    assert isinstance(CheckpointedTrial(load_builtin("iris", {})), CheckpointingTrial)


@pytest.mark.parametrize(("every", "kill_after", "resumed_at"), [(1, 5, 5), (3, 5, 3), (1, 1, 1)])
def test_a_killed_run_resumes_at_its_last_checkpoint_and_ends_as_an_uninterrupted_one(
    every: int, kill_after: int, resumed_at: int
) -> None:
    dataset = load_builtin("wine", {})
    whole = CheckpointedTrial(dataset, every=every)
    expected = mlp(PARAMS, whole)
    killed = CheckpointedTrial(dataset, every=every, kill_after=kill_after)
    with pytest.raises(WorkerKilled):
        mlp(PARAMS, killed)

    resumed = CheckpointedTrial(dataset, every=every, resume=killed.checkpoint)
    metrics = mlp(PARAMS, resumed)

    assert metrics == expected
    assert [step for step, _ in resumed.reports] == list(range(resumed_at + 1, PARAMS["epochs"] + 1))
    assert resumed.reports == whole.reports[resumed_at:]


def test_an_unreadable_checkpoint_means_training_from_scratch() -> None:
    dataset = load_builtin("wine", {})
    expected = mlp(PARAMS, CheckpointedTrial(dataset))

    trial = CheckpointedTrial(dataset, resume=b"garbage")
    metrics = mlp(PARAMS, trial)

    assert metrics == expected
    assert trial.reports[0][0] == 1
