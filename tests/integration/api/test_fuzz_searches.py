"""Fuzzing `POST /searches`: whatever the body, the answer is never a server error."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.helpers import quick_spec

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["float", "int", "categorical", "log", "log1m", "grid", "asha", "digits", "mlp"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

PATHS = [
    ("name",),
    ("objective",),
    ("dataset",),
    ("metric",),
    ("direction",),
    ("seed",),
    ("space",),
    ("space", "learning_rate"),
    ("space", "learning_rate", "low"),
    ("space", "learning_rate", "high"),
    ("space", "learning_rate", "scale"),
    ("space", "hidden_units", "type"),
    ("space", "hidden_units", "high"),
    ("space", "epochs"),
    ("space", "optimizer"),
    ("strategy",),
    ("strategy", "kind"),
    ("strategy", "points_per_axis"),
    ("budget",),
    ("budget", "max_trials"),
    ("budget", "max_parallel"),
    ("pruner",),
]


@st.composite
def mutated_specs(draw: st.DrawFn) -> Any:
    """A valid spec with one to three places replaced by arbitrary JSON, or arbitrary JSON outright."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    spec: dict[str, Any] = quick_spec(strategy={"kind": draw(st.sampled_from(["random", "grid", "sobol"]))})
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        target = spec
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = draw(JSON_VALUES)
    return spec


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(body=mutated_specs())
def test_no_search_body_causes_a_server_error(client: TestClient, body: Any) -> None:
    response = client.post(
        "/searches", content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, (body, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
