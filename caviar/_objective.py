"""The objective-plugin contract: what an objective receives (a `Trial`) and what it may raise.

Self-contained on purpose (standard library only at run time): a plugin package, the workers and the API's
spec checks all import it, and importing it never imports the server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


class TrialPruned(Exception):  # noqa: N818 - reads as a verdict, like Optuna's
    """Raised by an objective that stops because `trial.should_stop()` said so."""


class TrialDiverged(Exception):  # noqa: N818
    """Raised by an objective whose loss became NaN or infinite: the trial fails with reason `diverged`."""


class InvalidParams(ValueError):
    """A hyperparameter an objective does not accept, or a value out of its range (the trial fails)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class Dataset:
    """A supervised dataset: `X` is (m, n_features) float, `y` is (m,) int class labels 0..n_classes-1."""

    name: str
    X: np.ndarray
    y: np.ndarray
    n_classes: int


@runtime_checkable
class Trial(Protocol):
    """What an objective sees of its trial."""

    @property
    def trial_id(self) -> int: ...

    @property
    def params(self) -> Mapping[str, Any]:
        """This trial's hyperparameters (the same mapping the objective is called with)."""
        ...

    @property
    def seed(self) -> int:
        """Seed for everything random in this trial (splits, init, shuffling, dropout)."""
        ...

    def load_dataset(self) -> Dataset:
        """The search's dataset (built-in, generated or uploaded), loaded or fetched from the cache."""
        ...

    def report(self, step: int, **metrics: float) -> None:
        """Record one learning-curve point (step = epoch, 1-based)."""
        ...

    def should_stop(self) -> bool:
        """True when the pruner wants this trial stopped, or the worker is shutting down."""
        ...


@runtime_checkable
class CheckpointingTrial(Trial, Protocol):
    """A trial that keeps an objective's checkpoints across attempts (the workers' trials do): a trial whose
    worker dies resumes from its last checkpoint instead of starting over. An objective checks for it with
    `isinstance(trial, CheckpointingTrial)`; other trials (tests, `caviar.optimize`) need not offer it."""

    def resume_from(self) -> bytes | None:
        """The checkpoint an earlier attempt of this trial left, to continue from (its next report is the
        step after the checkpoint's); None: start from scratch."""
        ...

    def checkpoint_with(self, save: Callable[[], bytes]) -> None:
        """Have `save()` called after the reports the search keeps a checkpoint for (every
        `checkpoint_every` steps), its bytes stored with that report for `resume_from`. The bytes are
        data handed to another process: never make them something that runs code when read (no pickle)."""
        ...


@runtime_checkable
class LiveTrial(Trial, Protocol):
    """A trial whose hyperparameters can be nudged while it runs (the workers' trials can, through
    `PATCH /trials/{id}/controls`). An objective that supports it checks `isinstance(trial, LiveTrial)`."""

    def controls_with(self, apply: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> None:
        """Have `apply(changes)` called after a report with the hyperparameters someone changed since; it
        makes them take effect from the next step and returns their old values. It may raise
        `InvalidParams`, but the service validated the changes with the objective's rules already."""
        ...


@runtime_checkable
class StoppableTrial(Trial, Protocol):
    """A trial someone can ask to end now with its best result so far (the workers' trials can, through
    `POST /trials/{id}/stop`). An objective that supports it checks `isinstance(trial, StoppableTrial)`;
    one that does not is stopped like a pruned one (`should_stop()`), and the worker records the best of
    the steps it reported."""

    def stop_requested(self) -> bool:
        """True once a stop was asked: stop training after the current step and return the final metrics
        of the best step so far (with its weights, as early stopping does). `should_stop()` is true too."""
        ...


Objective = Callable[[Mapping[str, Any], Trial], Mapping[str, float]]
"""`objective(params, trial) -> final metrics`; register it under the `caviar.objectives` entry point."""
