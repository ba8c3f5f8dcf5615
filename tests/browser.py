"""Playwright fixtures for every browser test (system Chromium, pytest-django live_server).

They are registered once, in tests/conftest.py, so that one browser serves the whole session:
two sync_playwright() instances alive in one thread refuse to start.

Use them as:

    @pytest.mark.e2e
    def test_something(page, live_server, team):
        login(page, live_server, "anna")
        page.goto(live_server.url + "/")

A missing Chromium makes these tests FAIL (never skip): the browser tests are part of the suite.
"""

import os
from pathlib import Path

import pytest

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's async-safety check would
# refuse the ORM calls that fixtures and tests make next to it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 850}  # a common laptop screen


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console_errors():
    """Console errors and uncaught page errors (CSP violations show up here) of `page`."""
    return []


@pytest.fixture
def page(browser, console_errors):
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    """Folder for screenshots (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def login(page, live_server, username: str, password: str = PASSWORD, next_url: str = "") -> None:
    """Log in through the real login form and wait until the app has let us in."""
    url = f"{live_server.url}/accounts/login/"
    if next_url:
        url += f"?next={next_url}"
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda current: "/accounts/login/" not in current)
