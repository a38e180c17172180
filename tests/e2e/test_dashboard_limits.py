"""The search page of a search whose plot data passes CAVIAR_MAX_RESPONSE_BYTES: the history is drawn,
the other plots say why they are not, and the page does not break."""

from __future__ import annotations

import httpx
import pytest
from selenium import webdriver

from tests.e2e.browser import chromium_available, console_errors, open_page, text_of
from tests.e2e.conftest import Stack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium and chromium-driver"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TRIALS = 24


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    return {"CAVIAR_MAX_RESPONSE_BYTES": str(1024 * 1024)}


@pytest.fixture
def stack_worker_count() -> int:
    return 0


def heavy_search(stack: Stack) -> int:
    """TRIALS completed trials of ~100 KB of params each: 2.4 MB of plot data, over the 1 MiB limit."""
    spec = {
        "name": "heavy",
        "objective": "external",
        "metric": "loss",
        "direction": "minimize",
        "space": {
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            **{f"blob{i}": "b" * 10_000 for i in range(10)},
        },
        "budget": {"max_trials": TRIALS, "max_parallel": TRIALS},
        "seed": 2,
    }
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        search_id: int = client.post("/searches", json=spec).json()["id"]
        for _ in range(TRIALS):
            asked = client.post(f"/searches/{search_id}/ask", json={}).json()
            metrics = {"loss": asked["params"]["x"]}
            client.post(f"/trials/{asked['id']}/tell", json={"attempt": asked["attempt"], "metrics": metrics})
    return search_id


def test_a_search_too_large_to_plot_shows_its_history_and_says_why_the_rest_is_missing(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    search_id = heavy_search(stack)
    open_page(browser, f"{stack.api_url}/#/search/{search_id}", f"search-{search_id}")
    history_points = browser.execute_script(
        "return document.querySelector('#plot-history').data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0)"
    )
    assert history_points >= TRIALS
    for selector in ("#plot-curves", "#plot-parallel", "#plot-slices"):
        assert "CAVIAR_MAX_RESPONSE_BYTES" in text_of(browser, selector), selector
    errors = [entry["message"] for entry in console_errors(browser)]
    assert all("plot-data" in message and "422" in message for message in errors), errors
