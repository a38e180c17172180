"""A wrong spec is a 422 naming the field and the reason, and nothing is written anywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.queue import queue_depth, trial_queues
from app.settings import Settings
from tests.integration.helpers import quick_spec, row_counts

Mutation = Callable[[dict[str, Any]], None]


def _space(name: str, value: Any) -> Mutation:
    return lambda spec: spec["space"].__setitem__(name, value)


CASES: list[tuple[str, Mutation, str]] = [
    (
        "low above high",
        _space("learning_rate", {"type": "float", "low": 0.1, "high": 0.01}),
        "space.learning_rate",
    ),
    (
        "log scale with low 0",
        _space("learning_rate", {"type": "float", "low": 0, "high": 1, "scale": "log"}),
        "space.learning_rate",
    ),
    (
        "unknown parameter type",
        _space("learning_rate", {"type": "gaussian", "low": 0, "high": 1}),
        "space.learning_rate",
    ),
    ("unknown objective", lambda spec: spec.__setitem__("objective", "xgboost"), "objective"),
    ("unknown dataset", lambda spec: spec.__setitem__("dataset", "imagenet"), "dataset"),
    (
        "budget above the maximum",
        lambda spec: spec["budget"].__setitem__("max_trials", 10_000),
        "budget.max_trials",
    ),
    ("zero trials", lambda spec: spec["budget"].__setitem__("max_trials", 0), "budget.max_trials"),
    ("unknown strategy", lambda spec: spec.__setitem__("strategy", {"kind": "bayes-magic"}), "strategy"),
    ("unknown hyperparameter", _space("learnin_rate", 0.1), "space.learnin_rate"),
    ("metric the objective does not report", lambda spec: spec.__setitem__("metric", "f1"), "metric"),
    ("missing space", lambda spec: spec.pop("space"), "space"),
    ("unknown top-level field", lambda spec: spec.__setitem__("budgets", {}), "budgets"),
    ("negative checkpoint_every", lambda spec: spec.__setitem__("checkpoint_every", -1), "checkpoint_every"),
    (
        "fractional checkpoint_every",
        lambda spec: spec.__setitem__("checkpoint_every", 1.5),
        "checkpoint_every",
    ),
    (
        "grid finer than any budget",
        lambda spec: spec.__setitem__("strategy", {"kind": "grid", "points_per_axis": 10**6}),
        "strategy.points_per_axis",
    ),
    (
        "pbt with a pruner of its own",
        lambda spec: spec.update(strategy={"kind": "pbt", "population": 2}, pruner={"kind": "median"}),
        "pruner.kind",
    ),
    (
        "pbt without checkpoints",
        lambda spec: spec.update(strategy={"kind": "pbt", "population": 2}, checkpoint_every=0),
        "checkpoint_every",
    ),
    (
        "pbt with nothing live to explore",
        lambda spec: spec.update(
            strategy={"kind": "pbt", "population": 2},
            space={**spec["space"], "learning_rate": 0.01},  # hidden_units is tuned, and is not live
        ),
        "strategy.kind",
    ),
    (
        "pbt ranking members no sooner than their last epoch",
        lambda spec: spec.update(strategy={"kind": "pbt", "population": 2, "interval": 3}),
        "strategy.interval",
    ),
    (
        "pbt population above the budget",
        lambda spec: spec.update(strategy={"kind": "pbt", "population": 5}),
        "strategy.population",
    ),
    (
        "panda with more models than the budget",
        lambda spec: spec.update(strategy={"kind": "panda", "models": 5}),
        "strategy.models",
    ),
    (
        "panda with a pruner",
        lambda spec: spec.update(strategy={"kind": "panda"}, pruner={"kind": "asha"}),
        "pruner.kind",
    ),
    (
        "panda of an objective with nothing live",
        lambda spec: spec.update(
            strategy={"kind": "panda"},
            objective="quadratic",
            dataset=None,
            metric="loss",
            direction="minimize",
        ),
        "strategy.kind",
    ),
    (
        "ASHA with no epoch to prune at",
        lambda spec: spec.update(pruner={"kind": "asha"}, space={**spec["space"], "epochs": 1}),
        "space.epochs",
    ),
]


@pytest.mark.parametrize(("mutate", "field"), [(m, f) for _, m, f in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_is_rejected_naming_the_field_and_writes_nothing(
    client: TestClient, settings: Settings, mutate: Mutation, field: str
) -> None:
    spec = quick_spec()
    mutate(spec)
    response = client.post("/searches", json=spec)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] is not None and error["field"].startswith(field), error
    assert error["message"]
    assert row_counts(settings) == (0, 0)
    assert settings.redis_url is not None
    assert queue_depth(trial_queues(settings.redis_url, settings.queue_name)) == 0


@pytest.mark.parametrize("bad_number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_rejected(client: TestClient, settings: Settings, bad_number: str) -> None:
    body = (
        '{"objective": "mlp", "dataset": "digits", "budget": {"max_trials": 2},'
        f' "space": {{"learning_rate": {{"type": "float", "low": {bad_number}, "high": 0.1}}, "epochs": 1}}}}'
    )
    response = client.post("/searches", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"].startswith("space.learning_rate")
    assert row_counts(settings) == (0, 0)


def test_malformed_json_is_a_422_with_the_error_shape(client: TestClient) -> None:
    response = client.post("/searches", content="{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
