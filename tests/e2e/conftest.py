"""The browser tests' helpers; the fixtures themselves live in tests/browser.py."""

from tests.browser import CHROMIUM, VIEWPORT, login  # noqa: F401
