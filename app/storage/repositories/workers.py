"""Queries over the workers table (registration and heartbeats)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.storage.models import Worker


class WorkerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def register(self, worker: Worker) -> None:
        self.session.merge(worker)

    def heartbeat(self, worker_id: str, *, state: str, current_trial_id: int | None, now: datetime) -> None:
        self.session.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(state=state, current_trial_id=current_trial_id, heartbeat_at=now)
        )

    def all(self) -> Sequence[Worker]:
        return self.session.scalars(select(Worker).order_by(Worker.started_at)).all()

    def live(self, since: datetime) -> Sequence[Worker]:
        statement = select(Worker).where(Worker.heartbeat_at >= since, Worker.state != "stopped")
        return self.session.scalars(statement).all()
