"""Checkpoints of running trials: saved under the claim, handed to the next attempt, pruned at the end.

Policy (docs/operations.md): a trial keeps only its latest checkpoint; when a trial finishes, its checkpoint
is deleted unless it is the search's best trial, and a best trial that is overtaken loses its checkpoint
then. A search thus keeps at most one checkpoint per running (or re-queued) trial, plus one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.storage.repositories import CheckpointRepository, TrialRepository

DEFAULT_CHECKPOINT_EVERY = 1
"""Epochs between checkpoints when a spec names none: every epoch (0 turns checkpoints off)."""


@dataclass(frozen=True)
class ResumePoint:
    """The checkpoint a new attempt of a trial starts from: taken after `step` by attempt `attempt`."""

    step: int
    attempt: int
    content: bytes


def checkpoint_due(step: int, every: int) -> bool:
    """Whether a checkpoint is taken after `step` (1-based) when one is taken every `every` epochs."""
    return every > 0 and step % every == 0


def resume_point(session: Session, trial_id: int) -> ResumePoint | None:
    """The trial's latest checkpoint, if an earlier attempt left one."""
    checkpoint = CheckpointRepository(session).latest(trial_id)
    if checkpoint is None:
        return None
    return ResumePoint(checkpoint.step, checkpoint.attempt, checkpoint.content)


def save_checkpoint(
    session: Session, trial_id: int, attempt: int, step: int, content: bytes, now: datetime
) -> None:
    """Store the trial's latest checkpoint. Only call it in a transaction where `attempt` was shown to hold
    the claim (`TrialRepository.touch_lease` returned True), so a run presumed dead can't overwrite a newer
    attempt's checkpoint."""
    CheckpointRepository(session).save(trial_id, step, attempt, content, now)


def prune_checkpoints(session: Session, search_id: int, *, maximize: bool) -> int:
    """Apply the pruning policy after a trial of the search finished; returns the checkpoints deleted."""
    best = TrialRepository(session).best(search_id, maximize=maximize, limit=1)
    return CheckpointRepository(session).prune_finished(search_id, keep=[trial.id for trial in best])
