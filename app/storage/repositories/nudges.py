"""A trial's live controls: nudges asked (`trials.controls_pending`) and applied (`trials.nudges`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.models import Trial


class NudgeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_for_update(self, trial_id: int) -> Trial | None:
        """The trial, its row locked to the end of the transaction (PostgreSQL; SQLite has one writer)."""
        return self.session.scalar(select(Trial).where(Trial.id == trial_id).with_for_update(key_share=True))

    def add_request(self, trial: Trial, request: dict[str, Any], now: datetime) -> None:
        """Queue a nudge request after the pending ones (JSON columns are replaced, never mutated)."""
        trial.controls_pending = [*(trial.controls_pending or []), request]
        trial.updated_at = now

    def mark_applied(self, trial_id: int, applied: list[dict[str, Any]], now: datetime) -> None:
        """Move the first len(applied) pending requests to the applied nudges. Called by the run holding
        the claim, after `TrialRepository.renew_lease` locked the row in this transaction."""
        trial = self.session.get(Trial, trial_id)
        assert trial is not None
        trial.controls_pending = (trial.controls_pending or [])[len(applied) :] or None
        trial.nudges = [*(trial.nudges or []), *applied]
        trial.updated_at = now

    def reopen_after(self, trial_id: int, step: int) -> list[dict[str, Any]]:
        """Put the nudges applied after `step` back in front of the pending requests (a new attempt resumes
        from a checkpoint at `step`, which does not hold them); returns them."""
        trial = self.session.get(Trial, trial_id)
        assert trial is not None
        nudges = trial.nudges or []
        reopened = [nudge for nudge in nudges if nudge["step"] > step]
        if not reopened:
            return []
        requests = [
            {
                "changes": {name: change["new"] for name, change in nudge["changes"].items()},
                "by": nudge["by"],
                "requested_at": nudge["requested_at"],
            }
            for nudge in reopened
        ]
        trial.nudges = [nudge for nudge in nudges if nudge["step"] <= step] or None
        trial.controls_pending = [*requests, *(trial.controls_pending or [])]
        return reopened
