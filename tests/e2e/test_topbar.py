"""In a real browser: the top bar fits a phone's width and keeps its one row on a laptop, and
no page is wider than the screen."""

import pytest
from playwright.sync_api import expect

from .conftest import VIEWPORT, login

pytestmark = pytest.mark.e2e

# Everything in the top bar that reaches past the viewport's right edge, and the bar's height.
MEASURE = """() => {
  const bar = document.querySelector('.topbar');
  const edge = document.documentElement.clientWidth + 0.5;
  const past = [...bar.querySelectorAll('a, button, span, svg')]
    .filter((e) => e.getBoundingClientRect().right > edge)
    .map((e) => e.textContent.trim() || e.tagName);
  return {past, height: bar.getBoundingClientRect().height};
}"""


@pytest.mark.parametrize("width", [320, 360, 420, VIEWPORT["width"]])
def test_top_bar_fits_the_screen(page, live_server, team, artifacts, console_errors, width):
    page.set_viewport_size({"width": width, "height": 740})
    login(page, live_server, "olivia")
    for name, path in [
        ("dashboard", "/"),
        ("corpus", f"/corpora/{team.corpus.slug}/"),
        ("article", f"/articles/{team.article.pk}/"),
    ]:
        page.goto(live_server.url + path)
        tokens = page.locator(".topbar").get_by_role("link", name="API tokens")
        expect(tokens).to_be_visible()
        expect(page.locator(".topbar").get_by_role("button", name="Log out")).to_be_visible()
        # The brand keeps its name for screen readers even where only its mark shows.
        expect(page.get_by_role("link", name="Argument Annotator")).to_be_visible()
        measured = page.evaluate(MEASURE)
        assert measured["past"] == [], (name, width, measured)
        assert measured["height"] < 60, (name, width, measured)  # one row, as on a laptop
        # Nothing makes the page scroll sideways (wide tables scroll inside their own box).
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.screenshot(path=str(artifacts / f"topbar-{name}-{width}.png"))
        if width == VIEWPORT["width"]:
            expect(page.locator(".brand > span")).to_have_text("Argument Annotator")
            assert page.locator(".brand > span").bounding_box()["width"] > 100
            assert page.locator(".who-name").bounding_box()["width"] > 20
    assert console_errors == []
