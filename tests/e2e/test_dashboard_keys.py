"""The dashboard against a stack that requires API keys: it asks for one, then sends it with every read,
the live event stream and the cancel button."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from app.domain.api_keys import Scope
from app.services.api_keys import create_key
from app.settings import Settings
from app.storage.db import session_scope
from tests.e2e.browser import chromium_available, console_errors, open_page, text_of
from tests.e2e.conftest import Stack
from tests.integration.helpers import quick_spec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium and chromium-driver"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    return {"CAVIAR_AUTH": "required"}


def new_key(settings: Settings, name: str, scope: Scope) -> str:
    with session_scope(settings.database_url) as session:
        return create_key(session, name, scope)[1]


def enter_key(browser: webdriver.Chrome, key: str) -> None:
    field = browser.find_element(By.ID, "key-input")
    field.clear()
    field.send_keys(key)
    browser.find_element(By.ID, "key-save").click()


def test_the_dashboard_asks_for_a_key_then_reads_follows_and_cancels_with_it(
    stack: Stack,
    settings: Settings,
    browser: webdriver.Chrome,
    shoot: Callable[[str], Path],  # noqa: F811
) -> None:
    token = new_key(settings, "ci", Scope.SUBMIT)
    spec = quick_spec(name="keyed", budget={"max_trials": 40, "max_parallel": 2})
    spec["space"].update(epochs=30, hidden_units=256)
    created = httpx.post(f"{stack.api_url}/searches", json=spec, headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text
    search_id = created.json()["id"]

    open_page(browser, f"{stack.api_url}/#/search/{search_id}", "key")
    assert "requires a key" in text_of(browser, "#key-reason")
    shoot("key")
    console_errors(browser)  # the refused reads before a key was entered
    enter_key(browser, "cvr_0123456789ab_" + "x" * 43)
    WebDriverWait(browser, 30).until(lambda _: "not valid" in text_of(browser, "#key-reason"))
    console_errors(browser)

    enter_key(browser, token)
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script("return document.body.dataset.rendered") == f"search-{search_id}"
    )
    assert text_of(browser, "#created-by") == "ci"
    shown = lambda: int(text_of(browser, "[data-count=completed]") or 0)  # noqa: E731
    before = shown()
    WebDriverWait(browser, 90, poll_frequency=0.2).until(lambda _: shown() > before)  # the event stream
    shoot("search-with-key")

    cancel = browser.find_element(By.ID, "cancel")
    cancel.click()
    cancel.click()  # the second click confirms
    WebDriverWait(browser, 30).until(lambda _: "cancelled" in text_of(browser, "#title .badge"))

    open_page(browser, f"{stack.api_url}/#/searches", "searches")  # the stored key serves the next page too
    assert browser.find_elements(By.CSS_SELECTOR, f"#searches-table tbody tr[data-id='{search_id}']")
    assert console_errors(browser) == []
