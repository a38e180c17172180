"""Trial checkpoints: several per trial (by step), written by the claiming attempt, thinned as it runs and
pruned when trials finish; a checkpoint a branch was taken from is pinned."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.domain.trial_state import TERMINAL_STATES, TrialState
from app.storage.models import Trial, TrialCheckpoint

FINISHED_STATES = sorted(state.value for state in TERMINAL_STATES)


class CheckpointRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, trial_id: int, step: int, attempt: int, content: bytes, now: datetime) -> None:
        """Store the trial's checkpoint after `step`, replacing any at that step or later (left by an
        attempt that trained from scratch past them) unless a branch was taken from it. The caller must
        hold the trial's claim in this transaction (a conditional UPDATE of the trial row by `attempt`
        that matched), which is what fences this write."""
        self.session.execute(
            delete(TrialCheckpoint).where(
                TrialCheckpoint.trial_id == trial_id,
                TrialCheckpoint.step >= step,
                ~_branched_from(),
            )
        )
        if self.at(trial_id, step) is not None:
            return  # a branch's pinned checkpoint: the run it came from is the one to keep
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
        statement = (
            select(TrialCheckpoint)
            .where(TrialCheckpoint.trial_id == trial_id)
            .order_by(TrialCheckpoint.step.desc())
            .limit(1)
        )
        return self.session.scalar(statement)

    def at(self, trial_id: int, step: int) -> TrialCheckpoint | None:
        return self.session.get(TrialCheckpoint, (trial_id, step))

    def steps(self, trial_id: int) -> list[tuple[int, bool]]:
        """(step, pinned) of the trial's checkpoints, by step; pinned: a branch was taken from it."""
        statement = (
            select(TrialCheckpoint.step, _branched_from())
            .where(TrialCheckpoint.trial_id == trial_id)
            .order_by(TrialCheckpoint.step)
        )
        return [(int(step), bool(pinned)) for step, pinned in self.session.execute(statement)]

    def delete_steps(self, trial_id: int, steps: Iterable[int]) -> None:
        dropped = list(steps)
        if dropped:
            self.session.execute(
                delete(TrialCheckpoint).where(
                    TrialCheckpoint.trial_id == trial_id, TrialCheckpoint.step.in_(dropped)
                )
            )

    def delete(self, trial_id: int) -> None:
        self.session.execute(delete(TrialCheckpoint).where(TrialCheckpoint.trial_id == trial_id))

    def prune_finished(self, search_id: int, *, maximize: bool) -> int:
        """Delete the checkpoints of the search's finished trials (completed, failed, pruned, cancelled)
        except the best trial's (by value, the highest if `maximize`) and those a branch was taken from,
        in one statement; returns how many."""
        finished = select(Trial.id).where(Trial.search_id == search_id, Trial.state.in_(FINISHED_STATES))
        statement = delete(TrialCheckpoint).where(
            TrialCheckpoint.trial_id.in_(finished),
            # NOT IN an empty result (no completed trial yet) holds back nothing, as it should.
            TrialCheckpoint.trial_id.not_in(_best(search_id, maximize=maximize)),
            ~_branched_from(),
        )
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


_BRANCH = aliased(Trial, name="branch")  # one alias for every statement, so their compiled forms are cached


def _best(search_id: int, *, maximize: bool) -> Select[int]:
    """The id of the search's best completed trial (`TrialRepository.best`'s order), as a subquery."""
    order = Trial.value.desc() if maximize else Trial.value.asc()
    return (
        select(Trial.id)
        .where(
            Trial.search_id == search_id, Trial.state == TrialState.COMPLETED.value, Trial.value.is_not(None)
        )
        .order_by(order, Trial.number)
        .limit(1)
    )


def _branched_from() -> ColumnElement[bool]:
    """Whether a branch was taken from the checkpoint row in the enclosing statement (an index lookup)."""
    return exists().where(
        and_(_BRANCH.parent_trial_id == TrialCheckpoint.trial_id, _BRANCH.branch_step == TrialCheckpoint.step)
    )
