"""In a real browser: the links between claims drawn beside the text (never over it), one line
style per kind, a switch remembered across visits, and only the links the reader may see."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import AnnotationFactory, ClaimFactory, RelationFactory

from .conftest import login

pytestmark = pytest.mark.e2e

SPANS = [(0, 40), (42, 85), (87, 139), (141, 198)]

# Every arrow's box, the text's left edge, and each kind's dash pattern.
GEOMETRY = """() => {
  const text = document.getElementById('article-text').getBoundingClientRect();
  const arrows = [...document.querySelectorAll('svg.relation-arrows g.arrow')].map((g) => {
    const box = g.getBoundingClientRect();
    const line = g.querySelector('.arrow-line');
    return {kind: g.getAttribute('class'), right: box.right, top: box.top, bottom: box.bottom,
            dash: getComputedStyle(line).strokeDasharray};
  });
  return {textLeft: text.left, arrows};
}"""


def _linked(team):
    claims = [
        ClaimFactory(article=team.article, start=s, end=e, created_by=team.annotator)
        for s, e in SPANS
    ]
    for claim in claims:
        AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    mine = team.annotator
    RelationFactory(
        source_claim=claims[0], target_claim=claims[2], kind="supports", created_by=mine
    )
    RelationFactory(source_claim=claims[3], target_claim=claims[0], kind="attacks", created_by=mine)
    RelationFactory(
        source_claim=claims[1], target_claim=claims[2], kind="rephrases", created_by=mine
    )
    return claims


@pytest.mark.parametrize("size", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}])
def test_links_are_drawn_beside_the_text(page, live_server, team, artifacts, console_errors, size):
    claims = _linked(team)
    # Someone else's link, in a blind corpus: not for anna's eyes before she submits.
    RelationFactory(
        source_claim=claims[1], target_claim=claims[3], kind="attacks", created_by=team.annotator2
    )
    team.corpus.blind = True
    team.corpus.save()
    page.set_viewport_size(size)
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{team.article.pk}/")
    arrows = page.locator("svg.relation-arrows g.arrow")
    expect(arrows).to_have_count(3)
    expect(page.locator("#arrows-bar")).to_be_visible()
    geometry = page.evaluate(GEOMETRY)
    for arrow in geometry["arrows"]:
        assert arrow["right"] <= geometry["textLeft"] + 0.5, arrow  # never over the text
        assert arrow["bottom"] > arrow["top"]
    dashes = {a["kind"]: a["dash"] for a in geometry["arrows"]}
    assert len(set(dashes.values())) == 3, dashes  # told apart by the line, not colour alone
    assert dashes["arrow arrow-supports"] == "none"
    titles = arrows.locator("title").all_text_contents()
    assert any(re.match(r"Claim 4 “.+” attacks claim 1 “.+”", t) for t in titles), titles
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.screenshot(path=str(artifacts / f"arrows-{size['width']}.png"))

    # Off, and still off on the next visit; on again.
    toggle = page.get_by_role("button", name="Links beside the text")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator("svg.relation-arrows")).to_have_count(0)
    page.reload()
    expect(page.locator("#arrows-bar")).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator("svg.relation-arrows")).to_have_count(0)
    toggle.click()
    expect(arrows).to_have_count(3)
    assert console_errors == []


def test_a_new_link_appears_and_a_removed_one_goes(page, live_server, team, console_errors):
    claims = _linked(team)
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{team.article.pk}/?claim={claims[3].pk}")
    arrows = page.locator("svg.relation-arrows g.arrow")
    expect(arrows).to_have_count(3)
    page.get_by_text("Link to another claim").click()
    page.get_by_label("Relation").select_option("rephrases")
    page.get_by_label("Other claim", exact=True).press_sequentially("tightened", delay=20)
    page.locator("#relation-matches input[type=radio]").first.check()
    page.get_by_role("button", name="Add link").click()
    expect(arrows).to_have_count(4)
    page.locator(".relation").first.get_by_text("Remove…").click()
    page.get_by_role("button", name="Yes, remove the link").first.click()
    expect(arrows).to_have_count(3)
    assert console_errors == []


@pytest.mark.parametrize("size", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}])
def test_review_page_lists_links_and_the_log_names_claims(
    page, live_server, team, artifacts, console_errors, size
):
    from articles import services

    claims = _linked(team)
    services.relation_create(
        actor=team.annotator2, source=claims[2], target=claims[3], role="annotator", kind="attacks"
    )
    page.set_viewport_size(size)
    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/claims/{claims[2].pk}/review/")
    links = page.locator("#claim-links .claim-link")
    expect(links).to_have_count(3)
    expect(links.filter(has_text="This claim attacks")).to_contain_text("itics call the policy")
    page.locator("#claim-links").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"review-links-{size['width']}.png"))
    links.filter(has_text="rephrases").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/claims/{claims[1].pk}/review/"))

    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/audit/")
    row = page.locator("tr.audit-row[data-verb='relation.create']")
    expect(row).to_contain_text("“fficials say the rules will be tightened next year.”")
    expect(row).to_contain_text("“itics call the policy a gift to domestic rivals.")
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.screenshot(path=str(artifacts / f"audit-quotes-{size['width']}.png"))
    assert console_errors == []
