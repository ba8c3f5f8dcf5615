"""In a real browser at phone sizes: no page a member can reach scrolls sideways, the lists read
as cards, the agreement charts fit, and tapping a claim opens its panel where the reader is."""

import re

import pytest
from playwright.sync_api import expect

from articles import services
from tests.factories import (
    SAMPLE_TEXT,
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
)

from .conftest import login

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SPANS = [(0, 40), (42, 85), (87, 139), (141, 198)]

# Elements that reach past the right edge of the screen (the culprits when a page is too wide).
OVERFLOW = """() => {
  const edge = document.documentElement.clientWidth + 0.5;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > edge) {
      let hidden = false;
      for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (style.overflowX !== 'visible' && up.getBoundingClientRect().right <= edge) {
          hidden = true;
          break;
        }
      }
      if (!hidden) wide.push(el.tagName + '.' + el.className + ' ' + Math.round(box.right));
    }
  }
  return {scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 8)};
}"""


def _populate(team):
    """A corpus in use: articles with tagged claims (one disputed), evidence, links, a review,
    comments, assignments, a trashed article, audit events."""
    others = [
        ArticleFactory(corpus=team.corpus, title=title, author="Staff writer")
        for title in (
            "Export controls will not stop determined labs, and a rather long title to wrap",
            "Why the chip rules are working",
        )
    ]
    claims = []
    for article in [team.article, *others]:
        for k, (start, end) in enumerate(SPANS):
            claim = ClaimFactory(article=article, start=start, end=end, created_by=team.annotator)
            claims.append(claim)
            for n, user in enumerate((team.annotator, team.annotator2, team.owner)):
                stance = ("support", "oppose", "neutral")[(k + n) % 3 if k == 0 else k % 3]
                annotation = AnnotationFactory(
                    claim=claim, annotator=user, stance=stance, topic=team.topic, confidence=4
                )
        AssignmentFactory(article=article, annotator=team.annotator)
        AssignmentFactory(article=article, annotator=team.annotator2)
    EvidenceFactory(annotation=annotation, title="Commerce Department briefing on sales")
    RelationFactory(source_claim=claims[0], target_claim=claims[2], kind="supports")
    RelationFactory(source_claim=claims[3], target_claim=claims[1], kind="attacks")
    CommentFactory(claim=claims[0], author=team.curator, text="Both readings hold.")
    services.review_set(
        actor=team.curator,
        claim=claims[1],
        role="curator",
        decision="accepted",
        topic=team.topic,
        stance="oppose",
    )
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    trashed = ArticleFactory(corpus=team.corpus, title="An article deleted by mistake")
    services.article_delete(actor=team.owner, article=trashed, role="owner")
    return claims


def _pages(team, claims):
    slug = team.corpus.slug
    article = team.article.pk
    return [
        ("home", "/"),
        ("corpus", f"/corpora/{slug}/"),
        ("corpus-filtered", f"/corpora/{slug}/?q=chip&disagreements=1"),
        ("article", f"/articles/{article}/"),
        ("article-claim", f"/articles/{article}/?claim={claims[0].pk}"),
        ("review", f"/corpora/{slug}/review/"),
        ("review-claim", f"/claims/{claims[0].pk}/review/"),
        ("history", f"/claims/{claims[1].pk}/history/"),
        ("agreement", f"/corpora/{slug}/agreement/"),
        ("agreement-article", f"/corpora/{slug}/agreement/?article={article}"),
        ("settings", f"/corpora/{slug}/settings/"),
        ("assignments", f"/corpora/{slug}/assignments/"),
        ("audit", f"/corpora/{slug}/audit/"),
        ("trash", f"/corpora/{slug}/trash/"),
        ("tokens", "/account/tokens/"),
        ("api-docs", "/api/docs/"),
        ("claim-groups", f"/corpora/{slug}/claim-groups/"),
        ("guidelines", f"/corpora/{slug}/guidelines/"),
        ("jobs", f"/corpora/{slug}/jobs/"),
        ("map", f"/articles/{article}/map"),
        ("versions", f"/articles/{article}/versions"),
        ("edit-article", f"/articles/{article}/edit/"),
    ]


@pytest.mark.parametrize("width", [320, PHONE["width"]])
def test_no_page_scrolls_sideways(page, live_server, team, artifacts, console_errors, width):
    claims = _populate(team)
    page.set_viewport_size({"width": width, "height": PHONE["height"]})
    login(page, live_server, "olivia")
    too_wide = {}
    for name, path in _pages(team, claims):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        measured = page.evaluate(OVERFLOW)
        if measured["scroll"] > width:
            too_wide[name] = measured
        page.screenshot(path=str(artifacts / f"phone-{width}-{name}.png"), full_page=True)
    assert too_wide == {}
    assert console_errors == []


@pytest.mark.parametrize("username", ["anna", "victor"])
def test_no_page_an_annotator_or_viewer_reaches_scrolls_sideways(
    page, live_server, team, artifacts, console_errors, username
):
    """The same walk as another role: what an annotator or a viewer may open (the rest answers
    403 or 404, and is not theirs to see)."""
    claims = _populate(team)
    page.set_viewport_size(PHONE)
    login(page, live_server, username)
    too_wide, opened = {}, []
    for name, path in _pages(team, claims):
        response = page.goto(live_server.url + path)
        if response is None or response.status >= 400:
            continue
        opened.append(name)
        page.wait_for_load_state("networkidle")
        measured = page.evaluate(OVERFLOW)
        if measured["scroll"] > PHONE["width"]:
            too_wide[name] = measured
        page.screenshot(path=str(artifacts / f"phone-{username}-{name}.png"), full_page=True)
    assert {"home", "corpus", "article", "article-claim", "agreement", "map"} <= set(opened)
    assert too_wide == {}
    # Refused pages are expected in the console of a walk that opens them (403/404).
    assert [e for e in console_errors if "status of 4" not in e] == []


PARAGRAPH = (
    "Paragraph {n}. Export rules change slowly, and the firms they govern change fast. Each "
    "quarter brings a new chip, a new route around the rules, and a new round of hearings."
)
DEEP_CLAIM = "Restricting chip exports is shortsighted."


def _long_article(team):
    """An op-ed long enough to scroll on a phone, with two claims far down the text."""
    paragraphs = [PARAGRAPH.format(n=n) for n in range(1, 25)]
    paragraphs.insert(18, DEEP_CLAIM + " " + SAMPLE_TEXT)
    text = "\n\n".join(paragraphs)
    article = ArticleFactory(corpus=team.corpus, title="A long op-ed on chip exports", text=text)
    start = text.index(DEEP_CLAIM)
    deep = ClaimFactory(
        article=article, start=start, end=start + len(DEEP_CLAIM), created_by=team.annotator
    )
    AnnotationFactory(claim=deep, annotator=team.annotator, stance="oppose", topic=team.topic)
    early = ClaimFactory(article=article, start=0, end=len("Paragraph 1."))
    return article, deep, early


IN_VIEW = """(selector) => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, height: window.innerHeight};
}"""


@pytest.mark.parametrize("width", [320, PHONE["width"]])
def test_tapping_a_claim_opens_its_panel_where_the_reader_is(
    page, live_server, team, artifacts, console_errors, width
):
    article, deep, early = _long_article(team)
    page.set_viewport_size({"width": width, "height": PHONE["height"]})
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)
    passage = page.locator(f'#article-text [data-c~="{deep.pk}"]').first
    passage.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1500  # the claim is far down the text

    passage.click()
    panel = page.locator("#panel")
    expect(panel).to_have_class(re.compile(r"\bis-sheet\b"))
    expect(page.locator("#panel-title")).to_have_text("Claim 2")
    expect(page.locator("#panel-title")).to_be_focused()
    sheet = page.evaluate(IN_VIEW, "#panel")
    assert 0 < sheet["top"] < sheet["height"] * 0.5  # a sheet over the lower part of the screen
    assert sheet["bottom"] == pytest.approx(sheet["height"], abs=1)
    # The reader stayed where they were, and the tapped passage shows above the sheet.
    assert page.evaluate("window.scrollY") > 1500
    seen = page.evaluate(IN_VIEW, "#article-text .sel")
    assert seen["top"] > 50 and seen["bottom"] < sheet["top"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(artifacts / f"phone-{width}-sheet.png"))

    # The sheet scrolls on its own; tagging works inside it.
    page.get_by_role("button", name="Support").click()
    expect(page.locator("#stance-support")).to_have_attribute("aria-pressed", "true")
    expect(panel).to_have_class(re.compile(r"\bis-sheet\b"))
    expect(passage).to_have_class(re.compile(r"\bst-support\b"))  # the text was refreshed

    # Closing gives the focus back to the passage that was tapped.
    page.locator("#panel").get_by_role("link", name="Close").click()
    expect(panel).not_to_have_class(re.compile(r"\bis-sheet\b"))
    expect(passage).to_be_focused()

    # From the claim list below the text, the panel opens in view too.
    page.locator(f'#claim-list a[data-claim="{early.pk}"]').click()
    expect(page.locator("#panel-title")).to_have_text("Claim 1")
    sheet = page.evaluate(IN_VIEW, "#panel")
    assert 0 < sheet["top"] < sheet["height"] * 0.5
    seen = page.evaluate(IN_VIEW, "#article-text .sel")
    assert seen["top"] > 50 and seen["bottom"] < sheet["top"]
    page.keyboard.press("Escape")
    expect(panel).not_to_have_class(re.compile(r"\bis-sheet\b"))
    assert console_errors == []


def test_the_panel_stays_a_column_on_a_laptop(page, live_server, team, artifacts, console_errors):
    article, deep, _ = _long_article(team)
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/?claim={deep.pk}")
    expect(page.locator("#panel-title")).to_have_text("Claim 2")
    expect(page.locator("#panel")).not_to_have_class(re.compile(r"\bis-sheet\b"))
    assert page.locator("#panel").bounding_box()["x"] > 800  # the right-hand column
    assert console_errors == []
