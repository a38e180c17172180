"""A real headless Chromium (Debian's, driven by its chromedriver) for the dashboard's browser tests.

Selenium Manager is kept offline (SE_OFFLINE) and the driver path is given explicitly: nothing is ever
downloaded. The flags keep Chromium from calling home, so a test can check the page used only the stack.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # No GPU here: WebGL (plotly's scattergl) runs on SwiftShader, which Chromium wants opted into.
    "--enable-unsafe-swiftshader",
    "--window-size=1280,800",
)


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextmanager
def chromium(*, color_scheme: str | None = None) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile, its console log readable via `get_log("browser")`."""
    os.environ["SE_OFFLINE"] = "true"
    profile = tempfile.mkdtemp(prefix="caviar-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if color_scheme is not None:
        options.add_argument(f"--blink-settings=preferredColorScheme={1 if color_scheme == 'light' else 0}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Console messages of level SEVERE since the last call (failed loads, uncaught exceptions)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def resource_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the current page loaded (scripts, styles, fetches, images)."""
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])"
    )
    return urls


def open_page(browser: webdriver.Chrome, url: str, rendered: str, timeout: float = 60) -> None:
    browser.get("about:blank")
    browser.get(url)
    WebDriverWait(browser, timeout).until(
        lambda d: d.execute_script("return document.body.dataset.rendered") == rendered
    )


def text_of(browser: webdriver.Chrome, selector: str) -> str:
    """The element's text, read in one script call: the pages re-render, so element handles go stale."""
    text: str = browser.execute_script(
        "const el = document.querySelector(arguments[0]); return el ? el.textContent : ''", selector
    )
    return text
