"""Headless Chromium for the tests that look at pages as a person would.

Debian's chromium, driven by Playwright for Python through ``executable_path``
(no browser download). Where there is no Chromium, the tests skip and say why.
"""

import os
import shutil
from pathlib import Path

import pytest

from course_app.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        said = "no Chromium or Chrome on this machine (apt-get install chromium)"
        if os.environ.get("COURSE_REQUIRE_BROWSER"):  # CI: a missing browser is a failure
            pytest.fail(said + "; COURSE_REQUIRE_BROWSER is set")
        pytest.skip(said + "; browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=FLAGS)
        yield browser
        browser.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
