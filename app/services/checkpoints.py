"""Checkpoints of trials: saved under the claim, handed to the next attempt or a branch, thinned, pruned.

Policy (docs/operations.md): a trial keeps up to `CHECKPOINTS_PER_TRIAL` checkpoints, spread over its run
(`steps_to_thin`), plus those a branch was taken from (pinned). When a trial finishes, the checkpoints of
the search's finished trials are deleted except the best trial's and the pinned ones; a best trial that is
overtaken loses its unpinned checkpoints then. A search thus keeps at most `CHECKPOINTS_PER_TRIAL` per
queued or running trial, plus as many for its best trial, plus one per step a branch started from.

A search whose trials never stored a checkpoint (a cheap objective's, most often) has nothing to prune:
the first checkpoint a trial of it stores marks its counters row (`search_stats.checkpointed`), and a
transaction that finishes trials of a search still running without that mark sends no DELETE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.domain.checkpoint_retention import steps_to_thin
from app.storage.repositories import CheckpointRepository, TrialRepository
from app.storage.repositories.search_stats import SearchStatsRepository
from app.storage.search_stats import record_checkpoint

DEFAULT_CHECKPOINT_EVERY = 1
"""Epochs between checkpoints when a spec names none: every epoch (0 turns checkpoints off)."""

CHECKPOINTS_PER_TRIAL = 10
"""Checkpoints a trial keeps, besides those a branch was taken from: its latest and nine earlier ones."""


@dataclass(frozen=True)
class ResumePoint:
    """The checkpoint a new attempt of a trial starts from: taken after `step` by attempt `attempt` of the
    trial `trial_id` (the trial itself, or for a branch that has none of its own yet, its parent), and the
    hyperparameters to change right after restoring it (a branch's)."""

    step: int
    attempt: int
    content: bytes
    trial_id: int = 0
    changes: Mapping[str, Any] = field(default_factory=dict)


def checkpoint_due(step: int, every: int) -> bool:
    """Whether a checkpoint is taken after `step` (1-based) when one is taken every `every` epochs."""
    return every > 0 and step % every == 0


def resume_point(session: Session, trial_id: int) -> ResumePoint | None:
    """The trial's latest checkpoint, if an earlier attempt left one; for a branch without one, the
    parent's checkpoint it branched from, with the branch's changes."""
    checkpoints = CheckpointRepository(session)
    checkpoint = checkpoints.latest(trial_id)
    if checkpoint is not None:
        return ResumePoint(checkpoint.step, checkpoint.attempt, checkpoint.content, trial_id)
    trial = TrialRepository(session).get(trial_id)
    if trial is None or trial.parent_trial_id is None or trial.branch_step is None:
        return None
    # Pinned by the branch itself, so only a parent whose run restarted from scratch past it removes it.
    origin = checkpoints.at(trial.parent_trial_id, trial.branch_step)
    if origin is None:
        return None
    changes = dict(trial.branch_params or {})
    return ResumePoint(origin.step, origin.attempt, origin.content, origin.trial_id, changes)


def save_checkpoint(
    session: Session,
    trial_id: int,
    attempt: int,
    step: int,
    content: bytes,
    now: datetime,
    *,
    search_id: int,
) -> None:
    """Store the trial's latest checkpoint. Only call it in a transaction where `attempt` was shown to hold
    the claim (`TrialRepository.touch_lease` returned True), so a run presumed dead can't overwrite a newer
    attempt's checkpoint. Thins the trial's checkpoints to `CHECKPOINTS_PER_TRIAL` besides pinned ones, and
    marks the search (`search_id`, the trial's) as one whose finished trials may leave checkpoints."""
    checkpoints = CheckpointRepository(session)
    checkpoints.save(trial_id, step, attempt, content, now)
    record_checkpoint(session, search_id)  # written at commit, after the rows this transaction locks
    session.flush()
    stored = checkpoints.steps(trial_id)
    if len(stored) > CHECKPOINTS_PER_TRIAL:
        pinned = {kept for kept, is_pinned in stored if is_pinned}
        checkpoints.delete_steps(
            trial_id, steps_to_thin([kept for kept, _ in stored], pinned, CHECKPOINTS_PER_TRIAL)
        )


def prune_checkpoints(session: Session, search_id: int, *, maximize: bool) -> int:
    """Apply the pruning policy after a trial of the search finished; returns the checkpoints deleted."""
    return CheckpointRepository(session).prune_finished(search_id, maximize=maximize)


def prune_after_results(session: Session, search_id: int, *, maximize: bool, still_running: bool) -> int:
    """`prune_checkpoints` after trials of the search finished in this transaction (`still_running`: the
    search runs on, so none was cancelled with it), with no statement at all when the counters row this
    transaction read says no trial of the search ever stored a checkpoint. That read came after the
    trials finished, and a checkpoint is stored (and the row marked) under its trial's claim, in a
    transaction that finishing the trial waits for; a mark it missed all the same (read earlier) only
    puts the pruning off to the search's next result."""
    if still_running and not SearchStatsRepository(session).checkpointed_as_read(search_id):
        return 0
    return prune_checkpoints(session, search_id, maximize=maximize)
