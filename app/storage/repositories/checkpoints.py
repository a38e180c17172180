"""Trial checkpoints: the latest one per trial, written by the claiming attempt, pruned when trials finish."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.domain.trial_state import TERMINAL_STATES
from app.storage.models import Trial, TrialCheckpoint

FINISHED_STATES = sorted(state.value for state in TERMINAL_STATES)


class CheckpointRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, trial_id: int, step: int, attempt: int, content: bytes, now: datetime) -> None:
        """Replace the trial's checkpoint. The caller must hold the trial's claim in this transaction (a
        conditional UPDATE of the trial row by `attempt` that matched), which is what fences this write."""
        self.delete(trial_id)
        self.session.add(
            TrialCheckpoint(
                trial_id=trial_id,
                step=step,
                attempt=attempt,
                size=len(content),
                content=content,
                created_at=now,
            )
        )

    def latest(self, trial_id: int) -> TrialCheckpoint | None:
        return self.session.get(TrialCheckpoint, trial_id)

    def delete(self, trial_id: int) -> None:
        self.session.execute(delete(TrialCheckpoint).where(TrialCheckpoint.trial_id == trial_id))

    def prune_finished(self, search_id: int, keep: Iterable[int] = ()) -> int:
        """Delete the checkpoints of the search's finished trials (completed, failed, pruned, cancelled)
        except those of `keep`; returns how many."""
        finished = select(Trial.id).where(Trial.search_id == search_id, Trial.state.in_(FINISHED_STATES))
        kept = list(keep)
        statement = delete(TrialCheckpoint).where(TrialCheckpoint.trial_id.in_(finished))
        if kept:
            statement = statement.where(TrialCheckpoint.trial_id.not_in(kept))
        return int(self.session.execute(statement).rowcount)  # type: ignore[attr-defined]

    def totals(self, search_id: int) -> tuple[int, int]:
        """(checkpoints, bytes) stored for the search's trials."""
        statement = (
            select(func.count(), func.coalesce(func.sum(TrialCheckpoint.size), 0))
            .join(Trial, Trial.id == TrialCheckpoint.trial_id)
            .where(Trial.search_id == search_id)
        )
        count, size = self.session.execute(statement).one()
        return int(count), int(size)
