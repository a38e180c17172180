"""What `/metrics` reports: rows per state, live workers, queue depth and trial durations."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import InfrastructureError
from app.queue import queue_depth, trial_queues
from app.services.listing import alive_cutoff
from app.settings import Settings
from app.storage.repositories.stats import DurationStats, StatsRepository

DURATION_BOUNDS: tuple[float, ...] = (
    0.1,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)
"""Histogram bucket bounds of trial durations, in seconds."""


@dataclass(frozen=True)
class Snapshot:
    trials_by_state: dict[str, int]
    searches_by_state: dict[str, int]
    workers_by_state: dict[str, int]
    workers_alive: int
    queue_configured: bool
    queue_depth: int | None
    """None when Redis is not configured or did not answer."""
    durations: list[DurationStats]
    duration_bounds: tuple[float, ...]


def snapshot(session: Session, settings: Settings) -> Snapshot:
    stats = StatsRepository(session)
    return Snapshot(
        trials_by_state=stats.trials_by_state(),
        searches_by_state=stats.searches_by_state(),
        workers_by_state=stats.workers_by_state(),
        workers_alive=stats.workers_alive(alive_cutoff(settings)),
        queue_configured=settings.redis_url is not None,
        queue_depth=_queue_depth(settings),
        durations=stats.trial_durations(DURATION_BOUNDS),
        duration_bounds=DURATION_BOUNDS,
    )


def _queue_depth(settings: Settings) -> int | None:
    if settings.redis_url is None:
        return None
    try:
        return queue_depth(trial_queues(settings.redis_url, settings.queue_name))
    except InfrastructureError:
        return None
