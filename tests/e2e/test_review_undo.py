"""In a real browser: the one-key accept on the review page offers an Undo for a few seconds,
the key u undoes it, and the focus stays on the claim the curator works on."""

import re

import pytest
from playwright.sync_api import expect

from articles.models import Review
from tests.factories import AnnotationFactory, ClaimFactory

from .conftest import login

pytestmark = pytest.mark.e2e

SPANS = [(0, 40), (42, 85)]


def _agreed(team):
    claims = []
    for start, end in SPANS:
        claim = ClaimFactory(article=team.article, start=start, end=end)
        for user in (team.annotator, team.annotator2):
            AnnotationFactory(claim=claim, annotator=user, stance="support", topic=team.topic)
        claims.append(claim)
    return claims


@pytest.mark.parametrize("size", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}])
def test_one_key_accept_can_be_undone(page, live_server, team, artifacts, console_errors, size):
    first, second = _agreed(team)
    page.set_viewport_size(size)
    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/claims/{first.pk}/review/")
    page.keyboard.press("a")
    expect(page).to_have_url(re.compile(rf"/claims/{second.pk}/review/"))
    bar = page.locator("#undo-bar")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("“Restricting chip exports is shortsighted” is accepted")
    # The focus is on the claim now under review, not left at the top of the page.
    expect(page.locator("#claim-title")).to_be_focused()
    assert page.locator("#undo-bar").bounding_box()["y"] < size["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.screenshot(path=str(artifacts / f"review-undo-{size['width']}.png"))
    assert Review.objects.get(claim=first).decision == "accepted"

    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(rf"/claims/{first.pk}/review/#claim-title$"))
    expect(page.locator(".message.success")).to_contain_text("is not reviewed again")
    expect(page.locator("#claim-title")).to_be_focused()
    expect(page.locator("#undo-bar")).to_have_count(0)
    assert not Review.objects.filter(claim=first).exists()
    page.screenshot(path=str(artifacts / f"review-undone-{size['width']}.png"))
    assert console_errors == []


def test_the_undo_goes_away_after_a_few_seconds(page, live_server, team, console_errors):
    first, second = _agreed(team)
    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/claims/{first.pk}/review/")
    page.get_by_role("button", name=re.compile("Accept: support")).click()
    bar = page.locator("#undo-bar")
    expect(bar).to_be_visible()
    expect(bar).to_be_hidden(timeout=15_000)
    page.keyboard.press("u")  # no longer undoes
    page.wait_for_timeout(300)
    expect(page).to_have_url(re.compile(rf"/claims/{second.pk}/review/"))
    assert Review.objects.get(claim=first).decision == "accepted"
    assert console_errors == []
