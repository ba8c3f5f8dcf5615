"""Swagger UI at /api/docs/ renders under the enforced CSP; the tokens page works in a browser."""

import re

import pytest

from .conftest import login

pytestmark = pytest.mark.e2e


def test_swagger_ui_renders_under_the_csp(page, live_server, console_errors, artifacts, db):
    requested_hosts = set()
    page.on(
        "request",
        lambda request: requested_hosts.add(re.sub(r"^\w+://([^/]+).*", r"\1", request.url)),
    )
    page.goto(live_server.url + "/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    page.get_by_text("/api/v1/corpora/{slug}/articles", exact=True).first.wait_for()
    page.screenshot(path=artifacts / "api-docs.png")
    assert "Argument Annotator API" in page.locator(".swagger-ui .info .title").inner_text()
    assert requested_hosts == {live_server.url.split("://")[1]}  # nothing from a CDN
    violations = [e for e in console_errors if "Content Security Policy" in e or "Refused" in e]
    assert violations == []


def test_tokens_page_creates_and_revokes_in_a_browser(
    page, live_server, console_errors, artifacts, team
):
    login(page, live_server, "anna", next_url="/account/tokens/")
    page.goto(live_server.url + "/account/tokens/")
    page.get_by_label("Name").fill("notebook")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-key").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    page.screenshot(path=artifacts / "tokens-created.png", full_page=True)
    assert page.get_by_role("cell", name="notebook", exact=True).is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke notebook").click()
    page.get_by_text("You have no API tokens.").wait_for()
    assert console_errors == []
