"""An article that changes, in a real browser: the owner edits the text, previews the difference
and what happens to the claims, saves; the annotator sees the notice naming their claims, the
second look on their tag, and places the orphan again by selecting its new passage in the text
(code-point offsets after emoji and CJK, checked in the database)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from articles.models import Annotation, Article, Claim, TextChangeNotice
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory

from .conftest import login
from .test_annotate import SELECT_JS

pytestmark = pytest.mark.e2e

FIGURE = "Prices rose by 12% in a single quarter"
WITHDRAWN = "Critics call the policy a gift to domestic rivals"
TEXT = (
    "👩‍👩‍👧 family notes open this piece, written in a café (x\u0303) about chips.\n\n"
    "研究者は別の見方をしている。 The export ban backfired on its own makers.\n\n"
    f"{FIGURE}, and the quarter after that they rose again.\n\n"
    f"{WITHDRAWN}, while its defenders say it buys time."
)
NEW_PASSAGE = "Opponents now say the rules mostly help rivals abroad"
EDITED = (
    TEXT.replace("12%", "21%").replace(
        f"\n\n{WITHDRAWN}, while its defenders say it buys time.", ""
    )
    + f"\n\n{NEW_PASSAGE}. 🚀 More to follow."
)
SHOTS = os.environ.get("SCREENSHOTS_DIR")  # set it to look at the pages (kept out of the repo)


def shoot(page, name: str) -> None:
    """Screenshots at a laptop's and a phone's width, when asked for (SCREENSHOTS_DIR)."""
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")


@pytest.mark.django_db(transaction=True)
def test_edit_preview_save_notice_and_place_the_orphan(page, live_server, team, console_errors):
    article = ArticleFactory(corpus=team.corpus, title="Chips, corrected", text=TEXT)
    start = TEXT.index(FIGURE)
    fuzzy = ClaimFactory(
        article=article, start=start, end=start + len(FIGURE), created_by=team.annotator
    )
    start = TEXT.index(WITHDRAWN)
    orphan = ClaimFactory(
        article=article, start=start, end=start + len(WITHDRAWN), created_by=team.annotator
    )
    tag = AnnotationFactory(claim=fuzzy, annotator=team.annotator, topic=team.topic)

    # The owner edits, previews, saves.
    login(page, live_server, "olivia", next_url=f"/articles/{article.pk}/")
    page.get_by_role("link", name="Edit text").click()
    page.get_by_label("Text", exact=True).fill(EDITED)
    page.get_by_label("What changed").fill("Corrected the price figure; withdrew a sentence")
    page.get_by_role("button", name="Preview changes").click()
    counts = page.get_by_test_id("anchor-counts")
    expect(counts).to_contain_text("changed words 1")
    expect(counts).to_contain_text("orphaned 1")
    diff = page.get_by_test_id("text-diff")
    expect(diff.locator("del").first).to_be_visible()
    expect(diff.locator("ins", has_text="21")).to_be_visible()
    assert Article.objects.get(pk=article.pk).text == TEXT  # a preview saves nothing
    shoot(page, "edit-preview")
    page.get_by_role("button", name="Save version 2").click()
    page.wait_for_url(f"**/articles/{article.pk}/")
    expect(page.locator(".messages")).to_contain_text("Version 2 saved")
    saved = Article.objects.get(pk=article.pk)
    assert saved.text == EDITED and saved.text_version == 2
    page.goto(f"{live_server.url}/articles/{article.pk}/versions?a=1&b=2")
    expect(page.get_by_test_id("text-diff").locator("ins", has_text="Opponents")).to_be_visible()
    shoot(page, "versions-compare")
    log_out(page)

    # The annotator sees what happened to their claims.
    login(page, live_server, "anna", next_url=f"/articles/{article.pk}/")
    notice = page.get_by_test_id("text-notice")
    expect(notice).to_contain_text("Corrected the price figure")
    expect(notice).to_contain_text("Prices rose by 21% in a single quarter")
    expect(notice).to_contain_text(WITHDRAWN)
    orphans = page.get_by_test_id("orphans")
    expect(orphans).to_contain_text(WITHDRAWN)
    shoot(page, "notice-orphans")

    # The second look on the fuzzy claim's tag.
    notice.get_by_role("link", name="Prices rose by 21%").click()
    expect(page.get_by_test_id("second-look")).to_be_visible()
    page.get_by_role("button", name="My tag still holds").click()
    expect(page.get_by_test_id("second-look")).to_have_count(0)
    assert not Annotation.objects.get(pk=tag.pk).second_look

    # The orphan is placed again on the passage selected in the text.
    page.evaluate(SELECT_JS, NEW_PASSAGE)
    orphans = page.get_by_test_id("orphans")
    orphans.get_by_role("button", name="Use selection").click()
    expect(orphans.get_by_role("textbox")).to_have_value(NEW_PASSAGE)
    orphans.get_by_role("button", name="Place again").click()
    expect(page.locator(".messages")).to_contain_text("has its place again")
    placed = Claim.objects.get(pk=orphan.pk)
    assert (placed.start, placed.end) == (EDITED.index(NEW_PASSAGE), EDITED.index(NEW_PASSAGE) + 53)
    assert EDITED[placed.start : placed.end] == placed.exact == NEW_PASSAGE
    assert placed.anchor_status == "exact"
    expect(page.get_by_test_id("orphans")).to_have_count(0)

    # The notice goes away when dismissed.
    page.get_by_test_id("text-notice").get_by_role("button", name="Dismiss").click()
    expect(page.get_by_test_id("text-notice")).to_have_count(0)
    assert TextChangeNotice.objects.get(user=team.annotator).dismissed_at is not None
    assert console_errors == []
