"""What `/metrics` reports: rows per state, live workers, queue depth and trial durations."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.errors import InfrastructureError
from app.queue import queue_depth, trial_queues
from app.services.listing import alive_cutoff
from app.settings import Settings
from app.storage.repositories.search_stats import DURATION_BOUNDS, SearchStatsRepository, add_histogram
from app.storage.repositories.stats import DurationStats, StatsRepository


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
    """Trial counts and durations are the sums of the searches' maintained counters (O(searches), no
    trial is read); only searches without a counters row, if any, have their trials counted."""
    stats = StatsRepository(session)
    trials, durations = _trial_totals(session)
    return Snapshot(
        trials_by_state=trials,
        searches_by_state=stats.searches_by_state(),
        workers_by_state=stats.workers_by_state(),
        workers_alive=stats.workers_alive(alive_cutoff(settings)),
        queue_configured=settings.redis_url is not None,
        queue_depth=_queue_depth(settings),
        durations=durations,
        duration_bounds=DURATION_BOUNDS,
    )


def _trial_totals(session: Session) -> tuple[dict[str, int], list[DurationStats]]:
    counts: Counter[str] = Counter()
    durations: dict[str, dict[str, Any]] = {}
    search_stats = SearchStatsRepository(session)
    for search_counts, search_durations in search_stats.all_rows():
        counts.update(search_counts)
        for state, histogram in search_durations.items():
            add_histogram(durations, state, histogram)
    uncounted = search_stats.searches_without_stats()
    if uncounted:
        stats = StatsRepository(session)
        counts.update(stats.trials_by_state(uncounted))
        for taken in stats.trial_durations(DURATION_BOUNDS, uncounted):
            add_histogram(durations, taken.state, taken.histogram())
    return (
        {state: count for state, count in counts.items() if count},
        [
            DurationStats(state, tuple(total["buckets"]), total["sum"], total["count"])
            for state, total in sorted(durations.items())
        ],
    )


def _queue_depth(settings: Settings) -> int | None:
    if settings.redis_url is None:
        return None
    try:
        return queue_depth(trial_queues(settings.redis_url, settings.queue_name))
    except InfrastructureError:
        return None
