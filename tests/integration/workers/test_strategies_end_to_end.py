"""Every parameter type, strategy and pruner runs end to end: HTTP in, a real worker, results stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.integration.helpers import quick_spec
from workers.worker import run_worker

EVERY_KIND_OF_PARAMETER: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 0.001, "high": 0.05, "scale": "log"},
    "beta1": {"type": "float", "low": 0.8, "high": 0.99, "scale": "log1m"},
    "beta2": {
        "type": "float",
        "low": 0.99,
        "high": 0.9999,
        "scale": "log1m",
        "when": {"optimizer": ["adam", "rmsprop"]},
    },
    "beta": {"type": "float", "low": 0.8, "high": 0.95, "when": {"optimizer": ["momentum"]}},
    "keep_prob": {"type": "float", "low": 0.7, "high": 1.0},
    "hidden_units": {"type": "int", "low": 16, "high": 64, "scale": "log"},
    "n_layers": {"type": "int", "low": 1, "high": 2},
    "optimizer": {"type": "categorical", "choices": ["momentum", "rmsprop", "adam"]},
    "batch_norm": {"type": "categorical", "choices": [True, False]},
    "epochs": 3,
    "batch_size": 128,
}

STRATEGIES: list[dict[str, Any]] = [
    {"kind": "random"},
    {"kind": "sobol"},
    {"kind": "grid", "points_per_axis": 2},
    {"kind": "coarse_to_fine", "rounds": 2, "trials_per_round": 4, "top_fraction": 0.5},
]


@pytest.fixture
def client(settings: Settings) -> Any:
    from app.api.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


def run_search(client: TestClient, settings: Settings, spec: dict[str, Any]) -> dict[str, Any]:
    created = client.post("/searches", json=spec)
    assert created.status_code == 201, created.text
    run_worker(settings, burst=True)
    search: dict[str, Any] = client.get(f"/searches/{created.json()['id']}").json()
    return search


@pytest.mark.parametrize("strategy", STRATEGIES, ids=[s["kind"] for s in STRATEGIES])
def test_every_parameter_kind_runs_under_each_strategy(
    client: TestClient, settings: Settings, strategy: dict[str, Any]
) -> None:
    spec = quick_spec(
        space=EVERY_KIND_OF_PARAMETER, strategy=strategy, budget={"max_trials": 8, "max_parallel": 3}
    )
    search = run_search(client, settings, spec)
    assert search["state"] == "completed"
    trials = client.get(f"/searches/{search['id']}/trials").json()["items"]
    assert len(trials) == 8
    assert {t["state"] for t in trials} <= {"completed", "failed"}
    assert search["counts"]["completed"] >= 6
    for trial in trials:
        params = trial["params"]
        assert ("beta2" in params) == (params["optimizer"] in ("adam", "rmsprop"))
        assert ("beta" in params) == (params["optimizer"] == "momentum")
        assert 0.8 <= params["beta1"] <= 0.99 and 16 <= params["hidden_units"] <= 64
        assert params["epochs"] == 3


def test_coarse_to_fine_reports_its_rounds_and_zoom_boxes(client: TestClient, settings: Settings) -> None:
    strategy = {"kind": "coarse_to_fine", "rounds": 3, "trials_per_round": 4, "top_fraction": 0.5}
    search = run_search(
        client, settings, quick_spec(strategy=strategy, budget={"max_trials": 12, "max_parallel": 4})
    )
    assert search["state"] == "completed"
    trials = client.get(f"/searches/{search['id']}/trials").json()["items"]
    assert [t["round"] for t in trials] == [0] * 4 + [1] * 4 + [2] * 4
    rounds = search["strategy"]["rounds"]
    assert len(rounds) == 3
    assert rounds[1] != rounds[0]


def test_median_pruner_stops_trials_that_trail_the_median(client: TestClient, settings: Settings) -> None:
    spec = quick_spec(
        pruner={"kind": "median", "warmup_steps": 1, "min_trials": 2},
        budget={"max_trials": 10, "max_parallel": 1},
    )
    spec["space"]["learning_rate"] = {"type": "float", "low": 1e-5, "high": 0.05, "scale": "log"}
    spec["space"]["epochs"] = 5
    search = run_search(client, settings, spec)
    pruned = client.get(f"/searches/{search['id']}/trials", params={"state": "pruned"}).json()["items"]
    assert pruned, "some of these trials (learning rates down to 1e-5) trail the median"
    for trial in pruned:
        assert 2 <= trial["pruned_step"] < 5
        assert trial["value"] is None
        assert trial["metrics"]["dev_accuracy"] is not None
        curve = client.get(f"/trials/{trial['id']}").json()["curve"]
        assert curve[-1]["step"] == trial["pruned_step"]


def test_asha_pruner_promotes_only_the_top_of_each_rung(client: TestClient, settings: Settings) -> None:
    spec = quick_spec(
        pruner={"kind": "asha", "reduction_factor": 2, "min_resource": 1, "max_resource": 4},
        budget={"max_trials": 8, "max_parallel": 1},
    )
    spec["space"]["learning_rate"] = {"type": "float", "low": 1e-5, "high": 0.05, "scale": "log"}
    spec["space"]["epochs"] = 4
    search = run_search(client, settings, spec)
    assert search["counts"]["pruned"] >= 1
    assert search["counts"]["completed"] >= 1
    assert search["state"] == "completed"
