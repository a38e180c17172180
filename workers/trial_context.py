"""The `caviar.Trial` a worker hands to an objective: reports go to the database, verdicts come back."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.pruners import build_pruner
from app.services.ask_tell import Enqueue
from app.services.trial_controls import Apply, apply_requests
from app.services.trial_runs import ClaimedRun, DeferredEpoch, record_epoch
from app.storage.db import session_scope
from caviar import Dataset
from workers.dataset_cache import DatasetCache


@dataclass(frozen=True)
class PausePoint:
    """Where a run stops for a pause: after `step`, with the checkpoint taken then (None: the objective
    keeps none, so the trial resumes from its last stored one, or from scratch)."""

    step: int
    checkpoint: bytes | None
    request: dict[str, Any]


class WorkerTrialContext:
    """One run of one trial. `stop_reason` says why `should_stop()` turned true, if it did."""

    def __init__(
        self,
        run: ClaimedRun,
        database_url: str,
        datasets: DatasetCache,
        shutdown: threading.Event,
        *,
        checkpoint_min_seconds: float = 0.0,
        defer_epochs_for: float = 0.0,
        enqueue: Callable[[Enqueue], None] | None = None,
    ) -> None:
        self.run = run
        self._enqueue = enqueue
        self.deferred: list[DeferredEpoch] = []
        """Reports kept for the outcome's transaction: those no pruner judges, in the run's first
        `defer_epochs_for` seconds (a cheap trial's; a run that turns out long writes them as it goes)."""
        self._defer_until = time.monotonic() + defer_epochs_for
        self._pruner = build_pruner(
            run.pruner, direction="maximize" if run.direction == "maximize" else "minimize"
        )
        self._checkpoint_min_seconds = checkpoint_min_seconds
        self._checkpointed_at = time.monotonic()  # the run's start: its first checkpoint waits too
        self._database_url = database_url
        self._datasets = datasets
        self._shutdown = shutdown
        self._curve: dict[int, float] = {}
        self._reported: dict[int, dict[str, float]] = {}
        self.last_step: int | None = None
        self.last_metrics: dict[str, float] = {}
        self.stop_reason: str | None = None  # "pruned" | "claim_lost" | "shutdown" | "paused" | "stopped"
        self.pause: PausePoint | None = None
        self.stop_request: dict[str, Any] | None = None
        if run.run_request is not None and run.run_request.get("action") == "stop":
            self._stop(run.run_request)  # asked while the trial was paused
        self._save_checkpoint: Callable[[], bytes] | None = None
        self._apply_controls: Apply | None = None

    @property
    def trial_id(self) -> int:
        return self.run.trial_id

    @property
    def params(self) -> Mapping[str, Any]:
        return self.run.params

    @property
    def seed(self) -> int:
        return self.run.seed

    def load_dataset(self) -> Dataset:
        if self.run.dataset is None:
            raise LookupError(
                f"search {self.run.search_id} names no dataset, and objective "
                f"{self.run.objective!r} asked for one: give the spec a `dataset`"
            )
        return self._datasets.load(self.run.dataset, self.run.dataset_options)

    def report(self, step: int, **metrics: float) -> None:
        value = metrics.get(self.run.metric)
        if value is not None and math.isfinite(value):
            self._curve[step] = float(value)
        self.last_step = step
        self.last_metrics = {name: float(value) for name, value in metrics.items()}
        self._reported[step] = self.last_metrics
        checkpoint = self._checkpoint_if_due(step)
        resume = self.run.resume
        # An objective that could not use the checkpoint starts over: its reports replace the kept points.
        replaces = resume is not None and step <= resume.step
        # A PBT member's reports are never deferred: its judged ones lock the search row before the trial's.
        deferrable = checkpoint is None and not self._pruner.judges_at(step) and self.run.pbt is None
        if deferrable and time.monotonic() < self._defer_until:
            self.deferred.append(DeferredEpoch(step, dict(metrics), dict(self._curve), replaces))
            return
        with session_scope(self._database_url) as session:
            for epoch in self.deferred:
                record_epoch(
                    session, self.run, epoch.step, epoch.metrics, epoch.own_curve, replaces=epoch.replaces
                )
            self.deferred.clear()
            verdict = record_epoch(
                session, self.run, step, metrics, self._curve, checkpoint, replaces=replaces
            )
            request = verdict.run_request or {}
            # A pausing run leaves its nudges pending: the checkpoint is taken before them, and the run that
            # resumes from it applies them.
            goes_on = not (verdict.claim_lost or verdict.prune or request.get("action") == "pause")
            apply = self._apply_controls
            if verdict.controls and apply is not None and goes_on:
                run = self.run
                apply_requests(session, run.search_id, run.trial_id, step + 1, list(verdict.controls), apply)
        if verdict.enqueue and self._enqueue is not None:
            self._enqueue(verdict.enqueue)  # committed: the branch that replaces this pruned PBT member
        if verdict.claim_lost:
            self.stop_reason = "claim_lost"
        elif self.stop_reason is not None:
            pass
        elif request.get("action") == "stop":
            self._stop(request)
        elif request.get("action") == "pause":
            self.stop_reason = "paused"
            save = self._save_checkpoint
            taken = checkpoint if checkpoint is not None or save is None else save()
            self.pause = PausePoint(step, taken, request)
        elif verdict.prune:
            self.stop_reason = "pruned"

    def _stop(self, request: dict[str, Any]) -> None:
        self.stop_reason = "stopped"
        self.stop_request = request

    def best_reported(self) -> tuple[int, dict[str, float]] | None:
        """(step, metrics) of this run's best report by the search's metric (the earliest of equals)."""
        if not self._curve:
            return None
        sign = 1.0 if self.run.direction == "maximize" else -1.0
        step = max(self._curve, key=lambda known: (sign * self._curve[known], -known))
        return step, self._reported[step]

    def _checkpoint_if_due(self, step: int) -> bytes | None:
        save = self._save_checkpoint
        if save is None:
            return None
        if self.run.checkpoint_forced(step):
            self._checkpointed_at = time.monotonic()
            return save()  # a branch may start from it: never skipped for the time floor
        if not self.run.checkpoint_due(step):
            return None
        if time.monotonic() - self._checkpointed_at < self._checkpoint_min_seconds:
            return None
        self._checkpointed_at = time.monotonic()
        return save()

    def resume_from(self) -> bytes | None:
        return self.run.resume.content if self.run.resume is not None else None

    def checkpoint_with(self, save: Callable[[], bytes]) -> None:
        self._save_checkpoint = save

    def controls_with(self, apply: Apply) -> None:
        self._apply_controls = apply
        resume = self.run.resume
        if resume is not None and resume.changes:
            # A branch starting from its parent's checkpoint: the objective restored it (with the parent's
            # live hyperparameters), and the branch's own take effect from its first step.
            apply(resume.changes)

    def stop_requested(self) -> bool:
        return self.stop_reason == "stopped"

    def should_stop(self) -> bool:
        if self._shutdown.is_set() and self.stop_reason is None:
            self.stop_reason = "shutdown"
        return self.stop_reason is not None
