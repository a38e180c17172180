"""Lists: filters, sorting by columns and final metrics, keyset cursors that stay correct under sorting."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.integration.api.results import queued_search, record
from tests.integration.helpers import quick_spec

ACCURACIES: list[float | None] = [0.5, None, 0.9, 0.7, 0.9, None, 0.1]


def search_with_accuracies(client: TestClient, settings: Settings) -> tuple[int, list[dict[str, Any]]]:
    """Seven trials; two without final metrics, two tied at 0.9."""
    search_id, trials = queued_search(client, len(ACCURACIES))
    for trial, accuracy in zip(trials, ACCURACIES, strict=True):
        if accuracy is not None:
            record(
                settings,
                trial["id"],
                metrics={"dev_accuracy": accuracy, "cost": 1 - accuracy},
                value=accuracy,
            )
    return search_id, trials


def every_page(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def expected_order(trials: list[dict[str, Any]], *, descending: bool) -> list[int]:
    scored = [(a, t["id"]) for t, a in zip(trials, ACCURACIES, strict=True) if a is not None]
    scored.sort(key=lambda pair: (-pair[0] if descending else pair[0], pair[1]))
    missing = [t["id"] for t, a in zip(trials, ACCURACIES, strict=True) if a is None]
    return [trial_id for _, trial_id in scored] + missing


def test_pages_sorted_by_a_final_metric_descending_hold_every_trial_once_with_nulls_last(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = search_with_accuracies(client, settings)
    listed = every_page(client, f"/searches/{search_id}/trials", sort="-dev_accuracy", limit=2)
    assert [t["id"] for t in listed] == expected_order(trials, descending=True)


def test_pages_sorted_by_a_final_metric_ascending_hold_every_trial_once_with_nulls_last(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = search_with_accuracies(client, settings)
    listed = every_page(client, f"/searches/{search_id}/trials", sort="dev_accuracy", limit=3)
    assert [t["id"] for t in listed] == expected_order(trials, descending=False)


def test_pages_sorted_by_the_value_column_match_the_metric_order(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = search_with_accuracies(client, settings)
    listed = every_page(client, f"/searches/{search_id}/trials", sort="-value", limit=1)
    assert [t["id"] for t in listed] == expected_order(trials, descending=True)


def test_sort_by_a_metric_a_builtin_objective_never_reports_is_422_naming_its_metrics(
    client: TestClient, settings: Settings
) -> None:
    search_id, _ = search_with_accuracies(client, settings)
    for path, params in [
        (f"/searches/{search_id}/trials", {"sort": "-dev_acuracy"}),
        ("/trials", {"objective": "mlp", "sort": "-dev_acuracy"}),
    ]:
        response = client.get(path, params=params)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_request", "sort")
        assert "dev_accuracy" in error["message"] and "'dev_acuracy'" in error["message"]


def test_sort_by_a_metric_nobody_reported_keeps_creation_order_when_the_objective_is_open(
    client: TestClient, settings: Settings
) -> None:
    # Without an objective filter (or for a plugin objective) any metric name may exist somewhere.
    search_id, trials = search_with_accuracies(client, settings)
    listed = every_page(client, "/trials", search_id=search_id, sort="-f1", limit=4)
    assert [t["id"] for t in listed] == [t["id"] for t in trials]


def test_default_order_is_creation_order_and_the_last_page_has_no_cursor(client: TestClient) -> None:
    search_id, _ = queued_search(client, 4)
    first = client.get(f"/searches/{search_id}/trials", params={"limit": 2}).json()
    second = client.get(
        f"/searches/{search_id}/trials", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [t["number"] for t in first["items"] + second["items"]] == [0, 1, 2, 3]
    assert second["next_cursor"] is None


def test_cursor_made_for_another_sort_is_422(client: TestClient, settings: Settings) -> None:
    search_id, _ = search_with_accuracies(client, settings)
    page = client.get(f"/searches/{search_id}/trials", params={"sort": "-dev_accuracy", "limit": 2}).json()
    response = client.get(
        f"/searches/{search_id}/trials", params={"sort": "number", "cursor": page["next_cursor"]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


def test_forged_cursors_are_422_not_500(client: TestClient) -> None:
    search_id, _ = queued_search(client, 1)
    import base64
    import json

    def forge(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    for cursor in (
        "!!!",
        forge({"sort": "number", "after": [2**70, None]}),
        forge({"sort": "-dev_accuracy", "after": ["text", 1]}),
        forge({"sort": "number", "after": [1]}),
        forge([[[[[]]]]]),
        forge("[" * 3000),
    ):
        response = client.get(f"/searches/{search_id}/trials", params={"cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
        assert response.json()["error"]["field"] == "cursor"


def test_state_filter_takes_several_states(client: TestClient, settings: Settings) -> None:
    search_id, trials = queued_search(client, 4)
    record(settings, trials[0]["id"], state="completed", metrics={"dev_accuracy": 0.5}, value=0.5)
    record(settings, trials[1]["id"], state="failed")
    listed = every_page(client, f"/searches/{search_id}/trials", state=["completed", "failed"])
    assert {t["id"] for t in listed} == {trials[0]["id"], trials[1]["id"]}


def test_updated_since_returns_only_trials_changed_since(client: TestClient, settings: Settings) -> None:
    search_id, trials = queued_search(client, 3)
    since = max(t["updated_at"] for t in trials)
    record(settings, trials[1]["id"], metrics={"dev_accuracy": 0.8}, value=0.8)
    changed = client.get(f"/searches/{search_id}/trials", params={"updated_since": since}).json()["items"]
    unchanged_after = client.get(
        f"/searches/{search_id}/trials", params={"updated_since": "2999-01-01T00:00:00Z"}
    ).json()["items"]
    assert trials[1]["id"] in {t["id"] for t in changed}
    assert {t["id"] for t in changed} <= {t["id"] for t in trials}
    assert [t for t in changed if t["id"] == trials[1]["id"]][0]["state"] == "completed"
    assert unchanged_after == []


def test_best_across_searches_filters_by_objective_and_dataset_and_names_the_search(
    client: TestClient, settings: Settings
) -> None:
    digits_a, trials_a = queued_search(client, 2)
    digits_b, trials_b = queued_search(client, 2)
    iris, trials_iris = queued_search(client, 2, dataset="iris")
    for trial, accuracy in zip(
        trials_a + trials_b + trials_iris, [0.6, 0.7, 0.95, 0.1, 0.99, 0.98], strict=True
    ):
        record(settings, trial["id"], metrics={"dev_accuracy": accuracy}, value=accuracy)
    best = client.get(
        "/trials", params={"objective": "mlp", "dataset": "digits", "sort": "-dev_accuracy", "limit": 3}
    ).json()["items"]
    assert [(t["search_id"], t["metrics"]["dev_accuracy"]) for t in best] == [
        (digits_b, 0.95),
        (digits_a, 0.7),
        (digits_a, 0.6),
    ]
    assert iris not in {t["search_id"] for t in every_page(client, "/trials", dataset="digits", limit=2)}


def test_all_trials_sorted_by_a_metric_page_through_every_search(
    client: TestClient, settings: Settings
) -> None:
    _, first = queued_search(client, 3)
    _, second = queued_search(client, 3)
    accuracies = [0.3, 0.8, 0.8, None, 0.5, 0.8]
    for trial, accuracy in zip(first + second, accuracies, strict=True):
        if accuracy is not None:
            record(settings, trial["id"], metrics={"dev_accuracy": accuracy}, value=accuracy)
    listed = every_page(client, "/trials", sort="-dev_accuracy", limit=2)
    ids = [t["id"] for t in first + second]
    assert [t["id"] for t in listed] == [ids[1], ids[2], ids[5], ids[4], ids[0], ids[3]]


def test_searches_page_by_name_and_filter_by_objective(client: TestClient) -> None:
    names = ["charlie", "alpha", "delta", "bravo"]
    ids = {name: client.post("/searches", json=quick_spec(name=name)).json()["id"] for name in names}
    client.post(
        "/searches",
        json=quick_spec(
            name="zulu",
            objective="quadratic",
            metric="loss",
            direction="minimize",
            space={"x": {"type": "float", "low": 0, "high": 1}},
        ),
    )
    listed = every_page(client, "/searches", sort="name", objective="mlp", limit=3)
    assert [s["id"] for s in listed] == [ids[name] for name in sorted(names)]


def test_unknown_sort_field_for_searches_is_422_naming_the_choices(client: TestClient) -> None:
    response = client.get("/searches", params={"sort": "-dev_accuracy"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "sort"
    assert "created_at" in response.json()["error"]["message"]
