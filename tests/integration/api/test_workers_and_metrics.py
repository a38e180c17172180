"""GET /workers (with `alive` from heartbeat age) and GET /metrics (Prometheus text format)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Worker, utcnow
from app.storage.repositories import WorkerRepository
from tests.integration.api.results import queued_search, record


def add_worker(
    settings: Settings, worker_id: str, *, age_seconds: float, state: str, trial: int | None
) -> None:
    heartbeat = utcnow() - timedelta(seconds=age_seconds)
    with session_scope(settings.database_url) as session:
        WorkerRepository(session).register(
            Worker(
                id=worker_id,
                host="box-1",
                pid=4242,
                state=state,
                current_trial_id=trial,
                objectives=["mlp", "quadratic"],
                started_at=heartbeat - timedelta(minutes=1),
                heartbeat_at=heartbeat,
            )
        )


def test_workers_list_says_which_are_alive(client: TestClient, settings: Settings) -> None:
    add_worker(settings, "a-busy", age_seconds=0, state="busy", trial=7)
    add_worker(settings, "b-silent", age_seconds=settings.lease_seconds + 5, state="busy", trial=8)
    add_worker(settings, "c-stopped", age_seconds=0, state="stopped", trial=None)
    workers = client.get("/workers").json()["items"]
    assert [(w["id"], w["alive"]) for w in workers] == [
        ("a-busy", True),
        ("b-silent", False),
        ("c-stopped", False),
    ]
    busy = workers[0]
    assert (busy["host"], busy["pid"], busy["state"], busy["current_trial_id"]) == ("box-1", 4242, "busy", 7)
    assert busy["objectives"] == ["mlp", "quadratic"]
    alive_only = client.get("/workers", params={"alive": True}).json()["items"]
    assert [w["id"] for w in alive_only] == ["a-busy"]


def metric_samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_trials_and_searches_by_state_and_the_queue(
    client: TestClient, settings: Settings
) -> None:
    _, trials = queued_search(client, 3)
    record(settings, trials[0]["id"], metrics={"dev_accuracy": 0.5}, value=0.5)
    samples = metric_samples(client)
    assert samples[("caviar_trials", (("state", "completed"),))] == 1
    assert samples[("caviar_trials", (("state", "queued"),))] == 2
    assert samples[("caviar_trials", (("state", "pruned"),))] == 0
    assert samples[("caviar_searches", (("state", "running"),))] == 1
    assert samples[("caviar_queue_depth", ())] == 3  # the queue does not know the one recorded by hand
    assert samples[("caviar_queue_up", ())] == 1


def test_metrics_histogram_of_trial_durations(client: TestClient, settings: Settings) -> None:
    _, trials = queued_search(client, 3)
    for trial, seconds in zip(trials, (0.3, 4.0, 700.0), strict=True):
        record(settings, trial["id"], metrics={"dev_accuracy": 0.5}, value=0.5, seconds=seconds)
    samples = metric_samples(client)
    completed = (("state", "completed"),)

    def bucket(bound: str) -> float:
        return samples[("caviar_trial_duration_seconds_bucket", (("le", bound), ("state", "completed")))]

    assert samples[("caviar_trial_duration_seconds_count", completed)] == 3
    assert abs(samples[("caviar_trial_duration_seconds_sum", completed)] - 704.3) < 0.01
    assert (bucket("0.1"), bucket("0.5"), bucket("5.0"), bucket("600.0"), bucket("+Inf")) == (0, 1, 2, 2, 3)


def test_metrics_count_live_workers(client: TestClient, settings: Settings) -> None:
    add_worker(settings, "live", age_seconds=0, state="idle", trial=None)
    add_worker(settings, "dead", age_seconds=settings.lease_seconds * 3, state="idle", trial=None)
    samples = metric_samples(client)
    assert samples[("caviar_workers_alive", ())] == 1
    assert samples[("caviar_workers", (("state", "idle"),))] == 2
