"""/metrics: Prometheus text exposition of queue depth, rows per state, trial durations and event streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.api.deps import ReadSessionDep, SettingsDep
from app.api.event_hub import hub_counts
from app.domain.trial_state import SearchState, TrialState
from app.services.monitoring import Snapshot, snapshot

router = APIRouter(tags=["monitoring"])

EXAMPLE = (
    "# HELP caviar_queue_depth Trial jobs waiting on the Redis queue.\n"
    "# TYPE caviar_queue_depth gauge\n"
    "caviar_queue_depth 3.0\n"
    "# HELP caviar_trials Trials by state.\n"
    "# TYPE caviar_trials gauge\n"
    'caviar_trials{state="running"} 4.0\n'
)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}, "example": EXAMPLE}}}},
)
def metrics(session: ReadSessionDep, settings: SettingsDep) -> Response:
    """Prometheus metrics, computed from the database (and Redis for the queue) at each scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot(session, settings)))
    registry.register(_EventStreamCollector())
    return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _SnapshotCollector:
    def __init__(self, taken: Snapshot) -> None:
        self.taken = taken

    def collect(self) -> Iterator[Metric]:
        taken = self.taken
        if taken.queue_configured:
            up = GaugeMetricFamily("caviar_queue_up", "1 if Redis answered the queue-depth query.")
            up.add_metric([], 0 if taken.queue_depth is None else 1)
            yield up
        if taken.queue_depth is not None:
            yield GaugeMetricFamily(
                "caviar_queue_depth", "Trial jobs waiting on the Redis queue.", value=taken.queue_depth
            )
        yield _by_state(
            "caviar_trials", "Trials by state.", taken.trials_by_state, [s.value for s in TrialState]
        )
        yield _by_state(
            "caviar_searches", "Searches by state.", taken.searches_by_state, [s.value for s in SearchState]
        )
        yield _by_state(
            "caviar_workers", "Registered workers by their last reported state.", taken.workers_by_state, []
        )
        yield GaugeMetricFamily(
            "caviar_workers_alive", "Workers that heartbeated within the lease.", value=taken.workers_alive
        )
        yield self._durations()

    def _durations(self) -> HistogramMetricFamily:
        histogram = HistogramMetricFamily(
            "caviar_trial_duration_seconds",
            "Duration of the last run of finished trials (finished_at - started_at), by final state.",
            labels=["state"],
        )
        bounds = self.taken.duration_bounds
        for stats in self.taken.durations:
            buckets: list[tuple[str, float]] = [
                (_bound(bound), float(count))
                for bound, count in zip(bounds, stats.bucket_counts, strict=True)
            ]
            buckets.append(("+Inf", float(stats.count)))
            histogram.add_metric([stats.state], buckets, sum_value=stats.total_seconds)
        return histogram


class _EventStreamCollector:
    """Per API process: what its open event streams cost the database."""

    def collect(self) -> Iterator[Metric]:
        open_streams, reads = hub_counts()
        yield GaugeMetricFamily(
            "caviar_event_streams_open", "Event streams this API process is serving.", value=open_streams
        )
        yield CounterMetricFamily(
            "caviar_event_stream_reads",
            "Database reads this API process made for event streams (one per watched search and tick, "
            "however many streams watch it, plus catching-up reads).",
            value=reads,
        )


def _by_state(name: str, documentation: str, counts: dict[str, int], states: list[str]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=["state"])
    for state in sorted({*states, *counts}):
        gauge.add_metric([state], counts.get(state, 0))
    return gauge


def _bound(bound: Any) -> str:
    return repr(float(bound))
