"""`Trainer.stop()` and the `mlp` objective asked to stop: the best epoch so far, with its weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from app.domain.catalog.mlp_config import TrainConfig
from caviar import Dataset, StoppableTrial
from workers.datasets.builtin import load_builtin
from workers.nn.train import Trainer
from workers.objectives.mlp import mlp

# A learning rate high enough that dev accuracy falls back after its best epoch: the best is not the last.
CONFIG = TrainConfig(hidden_units=32, optimizer="adam", learning_rate=1.0, epochs=40, batch_size=16)


def _trainer(seed: int = 2) -> Trainer:
    return Trainer(CONFIG, load_builtin("wine", {}), np.random.default_rng(seed))


def _run(trainer: Trainer, epochs: int) -> None:
    for _ in range(epochs):
        trainer.run_one_epoch()


def _stopped_after(epochs: int) -> tuple[Trainer, int]:
    """A trainer stopped after `epochs` whose best epoch came earlier, and that best epoch."""
    trainer = _trainer()
    _run(trainer, epochs)
    assert trainer.best is not None
    return trainer, trainer.best.epoch


def test_a_stopped_run_reports_its_best_epoch_with_that_epochs_weights() -> None:
    stopped, best = _stopped_after(12)
    assert best < 12, "pick a config whose best epoch is not the last"
    again = _trainer()
    _run(again, best)
    best_params = again.network.params.copy()

    stopped.stop()
    assert stopped.done()
    result = stopped.result()

    assert result.metrics["best_epoch"] == best and result.metrics["epochs"] == 12
    assert result.metrics["dev_accuracy"] == asdict(again.history[-1])["dev_accuracy"]
    assert result.metrics["dev_cost"] == again.history[-1].dev_cost
    assert np.array_equal(result.network.params, best_params)


def test_stop_before_any_epoch_lets_one_epoch_run() -> None:
    trainer = _trainer()
    trainer.stop()
    result = trainer.run()
    assert len(result.history) == 1 and result.metrics["best_epoch"] == 1


def test_a_restored_run_keeps_the_best_weights_for_a_stop() -> None:
    """Stopping a run restored from a checkpoint (a paused trial, stopped) gives what stopping the
    uninterrupted run at the same epoch gives."""
    whole, _ = _stopped_after(12)
    whole.stop()
    expected = whole.result()

    first = _trainer()
    _run(first, 12)
    restored = _trainer()
    restored.restore(first.checkpoint())
    restored.stop()
    result = restored.run()

    assert len(result.history) == 12
    assert result.metrics == expected.metrics
    assert np.array_equal(result.network.params, expected.network.params)
    assert np.array_equal(result.network.running, expected.network.running)


def test_a_checkpoint_leaves_out_the_best_weights_while_the_last_epoch_is_the_best() -> None:
    trainer = _trainer()
    _run(trainer, 1)
    improving = len(trainer.checkpoint())
    stopped, _ = _stopped_after(12)
    assert len(stopped.checkpoint()) > improving  # best weights stored next to the current ones


@dataclass
class StoppedTrial:
    """A `caviar.StoppableTrial` whose stop is asked after report `stop_after`."""

    dataset: Dataset
    stop_after: int
    seed: int = 2
    trial_id: int = 1
    params: dict[str, object] = field(default_factory=dict)
    reports: list[int] = field(default_factory=list)

    def load_dataset(self) -> Dataset:
        return self.dataset

    def report(self, step: int, **metrics: float) -> None:
        self.reports.append(step)

    def should_stop(self) -> bool:
        return self.stop_requested()

    def stop_requested(self) -> bool:
        return bool(self.reports) and self.reports[-1] >= self.stop_after


def test_the_mlp_objective_asked_to_stop_returns_its_best_epoch_instead_of_raising() -> None:
    trial = StoppedTrial(load_builtin("wine", {}), stop_after=12)
    assert isinstance(trial, StoppableTrial)
    stopped, best = _stopped_after(12)

    params = {"hidden_units": 32, "optimizer": "adam", "learning_rate": 1.0, "epochs": 40, "batch_size": 16}
    metrics = mlp(params, trial)

    assert trial.reports == list(range(1, 13))
    assert metrics["best_epoch"] == best and metrics["epochs"] == 12
