"""Re-tests with fresh seeds, configuration summaries and importance, through the API and a worker."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Trial
from tests.integration.helpers import quick_spec
from workers.worker import run_worker


@pytest.fixture
def client(settings: Settings) -> Any:
    from app.api.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def finished_search(client: TestClient, settings: Settings) -> dict[str, Any]:
    spec = quick_spec(budget={"max_trials": 8, "max_parallel": 4})
    spec["space"]["keep_prob"] = {"type": "float", "low": 0.5, "high": 1.0}
    search_id = client.post("/searches", json=spec).json()["id"]
    run_worker(settings, burst=True)
    search: dict[str, Any] = client.get(f"/searches/{search_id}").json()
    assert search["state"] == "completed"
    return search


def test_retest_reruns_the_best_configurations_with_fresh_seeds(
    client: TestClient, settings: Settings, finished_search: dict[str, Any]
) -> None:
    parent_id = finished_search["id"]
    best = client.get(f"/searches/{parent_id}/best", params={"k": 2}).json()
    response = client.post(f"/searches/{parent_id}/retest", json={"top_k": 2, "repeats": 3})
    assert response.status_code == 201, response.text
    retest = response.json()
    assert retest["parent_search_id"] == parent_id
    assert retest["spec"]["budget"]["max_trials"] == 6
    run_worker(settings, burst=True)
    summaries = client.get(f"/searches/{retest['id']}/configurations").json()
    assert sorted(s["params"]["learning_rate"] for s in summaries) == sorted(
        t["params"]["learning_rate"] for t in best
    )
    for summary in summaries:
        assert summary["runs"] == 3 and summary["completed"] == 3
        assert summary["std"] is not None and summary["std"] >= 0
        # fmean of equal floats may land one ulp outside them: compare with a tolerance.
        assert min(summary["values"]) - 1e-12 <= summary["mean"] <= max(summary["values"]) + 1e-12
        assert summary["mean"] == pytest.approx(sum(summary["values"]) / 3)
    seeds_differ = {tuple(s["values"]) for s in summaries}
    assert any(len(set(values)) > 1 for values in seeds_differ), "fresh seeds give different results"


def test_retest_without_a_body_takes_the_defaults(
    client: TestClient, finished_search: dict[str, Any]
) -> None:
    response = client.post(f"/searches/{finished_search['id']}/retest", json={})
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["budget"]["max_trials"] == 3 * 3  # top_k 3, repeats 3


def test_retest_of_a_search_without_results_conflicts(client: TestClient) -> None:
    search_id = client.post("/searches", json=quick_spec()).json()["id"]
    response = client.post(f"/searches/{search_id}/retest", json={"top_k": 2, "repeats": 2})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_importance_names_its_method_and_covers_the_tuned_parameters(
    client: TestClient, finished_search: dict[str, Any]
) -> None:
    response = client.get(f"/searches/{finished_search['id']}/importance")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"]
    assert set(body["importances"]) == {"learning_rate", "hidden_units", "keep_prob"}
    assert body["n_trials"] == finished_search["counts"]["completed"]


def test_importance_is_fitted_again_only_once_another_trial_has_completed(
    client: TestClient, settings: Settings, finished_search: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.domain import importance as domain
    from app.services import analysis

    fits: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        fits.append(1)
        return domain.hyperparameter_importance(*args, **kwargs)

    monkeypatch.setattr(analysis, "hyperparameter_importance", counted)
    path = f"/searches/{finished_search['id']}/importance"
    first = client.get(path).json()
    assert client.get(path).json() == first
    assert len(fits) == 1, "a second read of the same results fits the forest again"

    trial = client.get(f"/searches/{finished_search['id']}/best", params={"k": 1}).json()[0]
    with session_scope(settings.database_url) as session:
        session.add(
            Trial(
                search_id=finished_search["id"],
                number=finished_search["counts"]["completed"],
                params=trial["params"],
                seed=1,
                state="completed",
                value=0.5,
            )
        )
    again = client.get(path).json()
    assert len(fits) == 2
    assert again["n_trials"] == first["n_trials"] + 1
