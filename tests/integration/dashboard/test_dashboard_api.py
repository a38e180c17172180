"""The dashboard's pages and bulk JSON: searches with progress, plot data, assets served offline."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.repositories import TrialRepository
from tests.integration.api.results import queued_search, record
from tests.integration.helpers import quick_spec


def test_root_serves_the_dashboard_with_the_vendored_plotly_bundle(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/dashboard/vendor/plotly-" in page.text and "https://" not in page.text
    plotly_url = page.text.split('<script defer src="')[1].split('"')[0]
    script = client.get(plotly_url)
    assert script.status_code == 200 and len(script.content) > 1_000_000
    assert "immutable" in script.headers["cache-control"]
    assert client.get("/dashboard/static/js/app.js").headers["cache-control"] == "no-cache"


def test_api_docs_pages_name_only_local_assets(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "cdn" not in page.text and "fonts.googleapis" not in page.text, path
    redoc_url = client.get("/redoc").text.split('<script src="')[1].split('"')[0]
    assert b"cdn.redoc.ly" not in client.get(redoc_url).content


def test_unknown_vendored_asset_is_404(client: TestClient) -> None:
    assert client.get("/dashboard/vendor/nothing.js").json()["error"]["code"] == "not_found"


def test_search_cards_show_progress_best_value_and_filter_by_name(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 3, name="alpha-run")
    record(settings, trials[0]["id"], metrics={"dev_accuracy": 0.8}, value=0.8)
    record(settings, trials[1]["id"], metrics={"dev_accuracy": 0.9}, value=0.9)
    record(settings, trials[2]["id"], state="failed")
    client.post("/searches", json=quick_spec(name="beta-run"))

    cards = client.get("/dashboard/api/searches", params={"name": "ALPHA"}).json()
    assert cards["total"] == 1
    card = cards["items"][0]
    assert (card["id"], card["done"], card["budget"], card["best_value"]) == (search_id, 3, 3, 0.9)
    assert card["strategy"] == "random" and card["dataset"] == "digits"
    by_name = client.get("/dashboard/api/searches", params={"sort": "name"}).json()["items"]
    assert [c["name"] for c in by_name] == ["alpha-run", "beta-run"]


def test_plot_data_holds_every_trial_and_the_best_curve_within_the_bounds(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 6)
    for k, trial in enumerate(trials):
        record(settings, trial["id"], metrics={"dev_accuracy": 0.5 + k / 20}, value=0.5 + k / 20)
        with session_scope(settings.database_url) as session:
            for step in range(1, 31):
                TrialRepository(session).add_curve_point(trial["id"], step, {"dev_accuracy": step / 30})

    data = client.get(
        f"/dashboard/api/searches/{search_id}/plot-data", params={"max_curves": 2, "max_points_per_curve": 5}
    ).json()
    assert data["trials"]["number"] == list(range(6))
    assert data["trials"]["params"]["learning_rate"] == [t["params"]["learning_rate"] for t in trials]
    assert data["best_trial_id"] == trials[-1]["id"]
    assert data["curves_total"] == 6 and len(data["curves"]) == 2
    assert trials[-1]["id"] in {curve["trial_id"] for curve in data["curves"]}
    for curve in data["curves"]:
        assert len(curve["steps"]) <= 5 and curve["steps"][0] == 1 and curve["steps"][-1] == 30
    assert data["last_event_id"] > 0


def test_plot_data_of_a_missing_search_is_404(client: TestClient) -> None:
    assert client.get("/dashboard/api/searches/999/plot-data").status_code == 404


def test_plot_data_reports_where_a_pruned_trial_stood_when_it_was_stopped(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 2)
    record(settings, trials[0]["id"], state="pruned", metrics={"dev_accuracy": 0.3})
    record(settings, trials[1]["id"], metrics={"dev_accuracy": 0.9}, value=0.9)

    columns = client.get(f"/dashboard/api/searches/{search_id}/plot-data").json()["trials"]
    assert columns["value"] == [None, 0.9]
    assert columns["reported"] == [0.3, 0.9]


def test_plot_data_without_params_and_curves_keeps_the_history_columns(
    client: TestClient, settings: Settings
) -> None:
    search_id, trials = queued_search(client, 3)
    for k, trial in enumerate(trials):
        record(settings, trial["id"], metrics={"dev_accuracy": 0.5 + k / 10}, value=0.5 + k / 10)
        with session_scope(settings.database_url) as session:
            TrialRepository(session).add_curve_point(trial["id"], 1, {"dev_accuracy": 0.5})

    path = f"/dashboard/api/searches/{search_id}/plot-data"
    full = client.get(path).json()
    light = client.get(path, params={"params": "false", "curves": "false"}).json()
    assert light["trials"]["params"] == {} and light["curves"] == []
    assert full["trials"]["params"] and len(full["curves"]) == 3
    for column in ("id", "number", "state", "value", "reported", "round"):
        assert light["trials"][column] == full["trials"][column]
    assert light["best_trial_id"] == full["best_trial_id"] == trials[-1]["id"]
    assert light["curves_total"] == full["curves_total"] == 3
