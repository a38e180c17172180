"""The dashboard in a real headless Chromium against a live stack (API and two worker processes).

Screenshots of every page are kept in the test's temporary directory (`screenshots/`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.browser import chromium_available, console_errors, open_page, resource_urls, text_of
from tests.e2e.conftest import Stack, wait_finished
from tests.integration.helpers import quick_spec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium and chromium-driver"),
    # One database is enough here: the pages read the same API on both.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

PLOTS = ("#plot-history", "#plot-curves", "#plot-parallel", "#plot-slices")


def coarse_to_fine_spec(name: str, **changes: Any) -> dict[str, Any]:
    spec = quick_spec(
        name=name,
        strategy={"kind": "coarse_to_fine", "rounds": 2, "trials_per_round": 4, "top_fraction": 0.5},
        budget={"max_trials": 8, "max_parallel": 4},
        pruner={"kind": "median"},
    )
    spec["space"]["beta1"] = {"type": "float", "low": 0.8, "high": 0.99, "scale": "log1m"}
    spec["space"]["optimizer"] = {"type": "categorical", "choices": ["momentum", "adam"]}
    spec.update(changes)
    return spec


def submit(stack: Stack, spec: dict[str, Any]) -> int:
    created = httpx.post(f"{stack.api_url}/searches", json=spec, timeout=30)
    assert created.status_code == 201, created.text
    search_id: int = created.json()["id"]
    return search_id


def traces(browser: webdriver.Chrome, selector: str) -> int:
    count: int = browser.execute_script(
        "const el = document.querySelector(arguments[0]); return el && el.data ? el.data.length : 0", selector
    )
    return count


def draw_all_plots(browser: webdriver.Chrome) -> None:
    """Scroll each lazily drawn plot into view and wait until it is drawn; where the page offers a
    button instead (parallel coordinates, with WebGL on the CPU as here), press it."""
    for selector in PLOTS:
        browser.execute_script("document.querySelector(arguments[0]).scrollIntoView()", selector)
        WebDriverWait(browser, 60).until(
            lambda d, s=selector: d.execute_script(
                "return document.querySelector(arguments[0]).dataset.drawn", s
            )
        )
        offers = browser.find_elements(By.CSS_SELECTOR, f"{selector} .plot-offer button")
        if offers:
            offers[0].click()
            WebDriverWait(browser, 60).until(
                lambda d, s=selector: d.execute_script(
                    "return document.querySelector(arguments[0]).dataset.offerTaken", s
                )
            )
    browser.execute_script("window.scrollTo(0, 0)")


def assert_only_the_stack(browser: webdriver.Chrome, stack: Stack) -> None:
    foreign = [url for url in resource_urls(browser) if not url.startswith(stack.api_url)]
    assert foreign == [], f"the page loaded from outside the stack: {foreign}"


def test_every_page_loads_without_console_errors_and_draws_its_plots(
    stack: Stack, browser: webdriver.Chrome, shoot: Callable[[str], Path]
) -> None:
    first = submit(stack, coarse_to_fine_spec("c2f-first"))
    second = submit(stack, coarse_to_fine_spec("c2f-second", seed=11))
    search = wait_finished(stack, first)
    wait_finished(stack, second)
    retest = httpx.post(f"{stack.api_url}/searches/{first}/retest", json={"top_k": 2, "repeats": 2}).json()
    wait_finished(stack, retest["id"])
    base = stack.api_url

    open_page(browser, f"{base}/", "searches")
    rows = browser.find_elements(By.CSS_SELECTOR, "#searches-table tbody tr[data-id]")
    assert {row.get_attribute("data-id") for row in rows} == {str(first), str(second), str(retest["id"])}
    shoot("searches")

    open_page(browser, f"{base}/#/search/{first}", f"search-{first}")
    draw_all_plots(browser)
    for selector in PLOTS:
        assert traces(browser, selector) > 0, selector
    # One slice subplot per tunable parameter, and each coarse-to-fine round's box drawn on them.
    shapes = browser.execute_script("return document.querySelector('#plot-slices').layout.shapes.length")
    assert shapes >= len(search["strategy"]["rounds"]) * 3
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.body.dataset.complete"))
    assert traces(browser, "#plot-importance") == 1
    assert traces(browser, "#plot-retest") == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#trials tbody tr[data-id]")) == 8
    shoot("search")

    best_trial = search["best"]["id"]
    open_page(browser, f"{base}/#/trial/{best_trial}", f"trial-{best_trial}")
    assert traces(browser, "#curve-0") > 0
    shoot("trial")

    open_page(browser, f"{base}/#/compare?ids={first},{second}", "compare")
    assert traces(browser, "#plot-compare-history") == 2
    assert traces(browser, "#plot-compare-curves") == 2
    shoot("compare")

    open_page(browser, f"{base}/#/workers", "workers")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#workers tbody tr")) == 2
    shoot("workers")

    assert console_errors(browser) == []
    assert_only_the_stack(browser, stack)


def test_api_docs_render_offline(
    stack: Stack, browser: webdriver.Chrome, shoot: Callable[[str], Path]
) -> None:
    browser.get(f"{stack.api_url}/docs")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    assert "/searches" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui").text
    assert_only_the_stack(browser, stack)
    shoot("docs")
    browser.get(f"{stack.api_url}/redoc")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-section-id]"))
    assert_only_the_stack(browser, stack)
    shoot("redoc")
    assert console_errors(browser) == []


def test_a_finished_trial_shows_on_the_open_search_page_and_the_cancel_button_cancels(
    stack: Stack, browser: webdriver.Chrome, shoot: Callable[[str], Path]
) -> None:
    spec = quick_spec(name="slow", budget={"max_trials": 40, "max_parallel": 2})
    spec["space"].update(epochs=30, hidden_units=256)
    search_id = submit(stack, spec)
    open_page(browser, f"{stack.api_url}/#/search/{search_id}", f"search-{search_id}")
    browser.execute_script("window.__sameDocument = true")
    shown = lambda: int(text_of(browser, "[data-count=completed]") or 0)  # noqa: E731
    before = shown()
    WebDriverWait(browser, 90, poll_frequency=0.2).until(lambda _: shown() > before)
    assert browser.execute_script("return window.__sameDocument") is True, "the page was reloaded"
    assert traces(browser, "#plot-history") > 0
    shoot("search-live")

    cancel = browser.find_element(By.ID, "cancel")
    cancel.click()
    cancel.click()  # the second click confirms
    WebDriverWait(browser, 30).until(
        lambda _: httpx.get(f"{stack.api_url}/searches/{search_id}").json()["state"] == "cancelled"
    )
    WebDriverWait(browser, 30).until(lambda _: "cancelled" in text_of(browser, "#title .badge"))
    assert not cancel.is_enabled()
    assert console_errors(browser) == []


def test_searches_filter_by_name_and_state_and_sort_by_name(stack: Stack, browser: webdriver.Chrome) -> None:
    for name in ("beta-search", "alpha-search", "gamma-other"):
        submit(stack, quick_spec(name=name, budget={"max_trials": 1, "max_parallel": 1}))
    open_page(browser, f"{stack.api_url}/#/searches", "searches")

    def names() -> list[str]:
        # One script call: the list is re-rendered every few seconds, so element handles go stale.
        found: list[str] = browser.execute_script(
            "return [...document.querySelectorAll('#searches-table tbody tr[data-id] td:nth-child(2) a')]"
            ".map(a => a.textContent)"
        )
        return found

    browser.find_element(By.ID, "filter-name").send_keys("search")
    WebDriverWait(browser, 10).until(lambda _: sorted(names()) == ["alpha-search", "beta-search"])
    browser.find_element(By.CSS_SELECTOR, "th[data-sort=name]").click()  # descending first
    WebDriverWait(browser, 10).until(lambda _: names() == ["beta-search", "alpha-search"])
    browser.find_element(By.CSS_SELECTOR, "th[data-sort=name]").click()
    WebDriverWait(browser, 10).until(lambda _: names() == ["alpha-search", "beta-search"])
    Select(browser.find_element(By.ID, "filter-state")).select_by_visible_text("cancelled")
    WebDriverWait(browser, 10).until(lambda _: names() == [])
    assert console_errors(browser) == []


def test_trial_table_sorts_by_a_metric_and_filters_by_state(stack: Stack, browser: webdriver.Chrome) -> None:
    search_id = submit(stack, quick_spec(budget={"max_trials": 6, "max_parallel": 3}))
    wait_finished(stack, search_id)
    open_page(browser, f"{stack.api_url}/#/search/{search_id}", f"search-{search_id}")

    def column(index: int) -> list[str]:
        found: list[str] = browser.execute_script(
            "return [...document.querySelectorAll(`#trials tbody tr td:nth-child(${arguments[0]})`)]"
            ".map(td => td.textContent)",
            index,
        )
        return found

    browser.execute_script("document.querySelector('#trials').scrollIntoView()")
    browser.find_element(By.CSS_SELECTOR, "#trials th[data-sort=dev_accuracy]").click()
    WebDriverWait(browser, 10).until(lambda _: "▼" in text_of(browser, "#trials th[data-sort=dev_accuracy]"))
    values = [float(text) for text in column(3)]
    assert values == sorted(values, reverse=True) and len(values) == 6
    Select(browser.find_element(By.ID, "trial-state")).select_by_visible_text("failed")
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trials tbody tr td.muted"))
    assert browser.find_element(By.ID, "trial-csv").get_attribute("href").endswith("trials.csv?state=failed")
    assert console_errors(browser) == []
