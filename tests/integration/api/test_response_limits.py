"""CAVIAR_MAX_RESPONSE_BYTES: list pages end early with a cursor that reaches every item; answers that
cannot page are refused with `response_too_large`, saying what to ask instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from tests.integration.helpers import ask_and_tell

LIMIT = 1024 * 1024  # the smallest the setting allows
TRIALS = 24
FIXED_BYTES = 100_000
"""Each trial carries ~100 KB of fixed params: a 500-trial page of them would be ~2.4 MB."""


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"max_response_bytes": LIMIT}))) as client:
        yield client


@pytest.fixture
def heavy_search(small_client: TestClient) -> int:
    """An external search of TRIALS completed trials, ~100 KB each, every one a distinct configuration."""
    spec = {
        "objective": "external",
        "metric": "loss",
        "direction": "minimize",
        "space": {
            "x": {"type": "int", "low": 0, "high": 10**9},
            **{f"blob{i}": "b" * (FIXED_BYTES // 10) for i in range(10)},
        },
        "strategy": {"kind": "random"},
        "budget": {"max_trials": TRIALS, "max_parallel": TRIALS},
        "seed": 1,
    }
    created = small_client.post("/searches", json=spec)
    assert created.status_code == 201, created.text
    search_id: int = created.json()["id"]
    ask_and_tell(small_client, search_id, TRIALS, lambda number, _: number)
    return search_id


def follow(client: TestClient, path: str, **params: Any) -> list[tuple[int, list[dict[str, Any]]]]:
    """(body bytes, items) of every page, following `next_cursor` to the end."""
    pages = []
    cursor = None
    while True:
        response = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append((len(response.content), body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize("path", ["/searches/{id}/trials", "/trials"])
def test_trial_pages_end_within_the_byte_limit_and_cursors_reach_every_trial(
    small_client: TestClient, heavy_search: int, path: str
) -> None:
    pages = follow(
        small_client, path.format(id=heavy_search), limit=500, sort="number", search_id=heavy_search
    )
    assert len(pages) > 1
    assert all(size <= LIMIT for size, _ in pages)
    numbers = [trial["number"] for _, items in pages for trial in items]
    assert numbers == list(range(TRIALS))


def test_a_page_under_the_limit_is_whole(small_client: TestClient, heavy_search: int) -> None:
    page = small_client.get(f"/searches/{heavy_search}/trials", params={"limit": 5}).json()
    assert len(page["items"]) == 5 and page["next_cursor"] is not None


def test_best_refuses_too_many_and_names_a_k_that_fits(small_client: TestClient, heavy_search: int) -> None:
    refused = small_client.get(f"/searches/{heavy_search}/best", params={"k": TRIALS})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "response_too_large" and error["field"] == "k"
    assert "CAVIAR_MAX_RESPONSE_BYTES" in error["message"]
    fitting = int(error["message"].split("ask for k=")[1].split()[0])
    answered = small_client.get(f"/searches/{heavy_search}/best", params={"k": fitting})
    assert answered.status_code == 200 and len(answered.json()) == fitting
    assert len(answered.content) <= LIMIT


def test_configurations_refuse_too_many_and_limit_answers(
    small_client: TestClient, heavy_search: int
) -> None:
    refused = small_client.get(f"/searches/{heavy_search}/configurations")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "response_too_large"
    assert refused.json()["error"]["field"] == "limit"
    best = small_client.get(f"/searches/{heavy_search}/configurations", params={"limit": 3})
    assert best.status_code == 200 and [c["mean"] for c in best.json()] == [0.0, 1.0, 2.0]


def test_plot_data_too_large_is_refused_but_the_history_read_answers(
    small_client: TestClient, heavy_search: int
) -> None:
    refused = small_client.get(f"/dashboard/api/searches/{heavy_search}/plot-data")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "response_too_large" and error["field"] == "params"
    assert "params=false" in error["message"]
    history = small_client.get(
        f"/dashboard/api/searches/{heavy_search}/plot-data", params={"params": "false", "curves": "false"}
    )
    assert history.status_code == 200 and len(history.json()["trials"]["id"]) == TRIALS


def test_a_trial_with_a_curve_too_large_is_refused_and_answers_without_it(small_client: TestClient) -> None:
    created = small_client.post(
        "/searches",
        json={
            "objective": "external",
            "metric": "loss",
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "budget": {"max_trials": 1},
        },
    )
    asked = small_client.post(f"/searches/{created.json()['id']}/ask", json={}).json()
    metrics = {f"{index:03d}" + "m" * 97: 0.5 for index in range(100)}  # ~11 KB a step
    for step in range(100):
        reported = small_client.post(
            f"/trials/{asked['id']}/report",
            json={"attempt": asked["attempt"], "step": step, "metrics": metrics},
        )
        assert reported.status_code == 200, reported.text
    refused = small_client.get(f"/trials/{asked['id']}")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "curve" and "curve=false" in refused.json()["error"]["message"]
    alone = small_client.get(f"/trials/{asked['id']}", params={"curve": "false"})
    assert alone.status_code == 200 and alone.json()["curve"] == [] and alone.json()["id"] == asked["id"]
