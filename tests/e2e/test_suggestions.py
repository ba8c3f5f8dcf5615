"""Suggestions in a real browser: dashed boxes over the right words (after an emoji), stepping
with s, accepting with y, correcting with c then a stance key, rejecting with n, bulk accepting
with undo; each decision checked in the database. Screenshots at 1366 and 390 px go to
$SHOTS_DIR (default test-artifacts/), to be looked at."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from articles import selectors, services
from articles.models import Annotation, Article, SuggestionDecision
from articles.services import text_sha256

from .conftest import login

pytestmark = pytest.mark.e2e

FIRST = "Export controls on chips are a strategic mistake"
SECOND = "the ban has already cost domestic firms billions"
THIRD = "Officials say the rules will be tightened next year"
FOURTH = "Nothing in the data shows the controls slowed anyone down"
TEXT = (
    "👩‍👩‍👧 A family business in Austin opens this story.\n\n"
    f"{FIRST}. Critics argue {SECOND}. {THIRD}.\n\n"
    f"{FOURTH}, and the next quarter will tell."
)


def _shots(artifacts: Path) -> Path:
    folder = Path(os.environ.get("SHOTS_DIR", artifacts))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def suggested(team):
    article = Article.objects.create(
        corpus=team.corpus, title="Chips op-ed", text=TEXT, text_sha256=text_sha256(TEXT)
    )
    _, curator = selectors.corpus_with_access(team.curator, team.corpus.slug)
    made = services.suggestions_create(
        access=curator,
        article=article,
        model="stance-llm@2",
        suggestions=[
            {"exact": FIRST, "stance": "oppose", "score": 0.93},
            {"exact": SECOND, "stance": "support", "score": 0.81},
            {"exact": THIRD, "score": 0.35},
            {"exact": FOURTH, "stance": "support", "score": 0.66},
        ],
    )
    return article, made


def _box_text(page, sid) -> str:
    """The article text under the suggestion's boxes (by hit-testing their middles)."""
    return page.evaluate(
        """(sid) => {
          const boxes = [...document.querySelectorAll(`.sg-box[data-sid="${sid}"]`)];
          return boxes.map(b => {
            const r = b.getBoundingClientRect();
            const el = document.elementsFromPoint(r.left + r.width / 2, r.top + r.height / 2)
              .find(e => e.closest && e.closest('#article-text'));
            return el ? el.textContent : '';
          }).join('|');
        }""",
        str(sid),
    )


def test_accept_correct_reject_by_keyboard(page, live_server, team, suggested, artifacts):
    article, made = suggested
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/")
    expect(page.locator("#annotate[data-suggestions-ready='1']")).to_be_attached()
    # Every suggestion has a dashed box over its words, after the emoji's code points.
    assert page.locator(".sg-box").count() >= 4
    for suggestion in made:
        covered = page.evaluate("(sid) => window.SuggestionBoxes.textOf(sid)", suggestion.pk)
        assert covered == suggestion.exact
    assert FIRST in _box_text(page, made[0].pk)
    shots = _shots(artifacts)
    page.screenshot(path=str(shots / "suggestions-1366.png"), full_page=True)

    # s: the first suggestion becomes the current one; y accepts it as anna's own annotation.
    page.keyboard.press("s")
    expect(page.locator(f"#sg-{made[0].pk}.sg-current")).to_be_visible()
    page.keyboard.press("y")
    expect(page.locator(f"#sg-{made[0].pk}.sg-mine-accepted")).to_be_attached()
    annotation = Annotation.objects.get(annotator=team.annotator, claim__exact=FIRST)
    assert annotation.stance == "oppose"
    decision = SuggestionDecision.objects.get(suggestion=made[0], decided_by=team.annotator)
    assert decision.annotation == annotation
    # The claim it tagged is open in the panel, and the next open suggestion is current.
    expect(page.locator("#panel-title")).to_contain_text("Claim")
    expect(page.locator(f"#sg-{made[1].pk}.sg-current")).to_be_attached()

    # c, then 3: correct the second one's stance to neutral and accept it.
    page.keyboard.press("c")
    expect(page.locator(f"#sg-{made[1].pk} [data-sg-correct][open]")).to_be_attached()
    # A write's refreshes can land after c (the list, the text, the panel swap one after
    # another): the correction stays open and 3 still goes to it, not to the open claim.
    page.evaluate("() => htmx.trigger(document.body, 'claims-changed', {})")
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request') && document.querySelector('#sg-items')"
    )
    page.wait_for_timeout(100)
    expect(page.locator(f"#sg-{made[1].pk} [data-sg-correct][open]")).to_be_attached()
    page.keyboard.press("3")
    expect(page.locator(f"#sg-{made[1].pk}.sg-mine-accepted")).to_be_attached()
    corrected = Annotation.objects.get(annotator=team.annotator, claim__exact=SECOND)
    assert corrected.stance == "neutral"

    # The third has no stance: y is refused with the reason; n rejects it.
    expect(page.locator(f"#sg-{made[2].pk}.sg-current")).to_be_attached()
    page.keyboard.press("y")
    expect(page.locator("#save-status")).to_contain_text("no stance")
    page.keyboard.press("n")
    expect(page.locator(f"#sg-{made[2].pk}.sg-mine-rejected")).to_be_attached()
    assert SuggestionDecision.objects.get(suggestion=made[2]).state == "rejected"
    assert not Annotation.objects.filter(claim__exact=THIRD).exists()

    # S steps back.
    expect(page.locator(f"#sg-{made[3].pk}.sg-current")).to_be_attached()
    page.keyboard.press("S")
    expect(page.locator(f"#sg-{made[2].pk}.sg-current")).to_be_attached()
    page.screenshot(path=str(shots / "suggestions-decided-1366.png"), full_page=True)


def test_bulk_accept_above_a_score_and_undo(page, live_server, team, suggested):
    article, made = suggested
    login(page, live_server, "arjun")
    page.goto(f"{live_server.url}/articles/{article.pk}/")
    page.locator("#sg-threshold").fill("0.8")
    page.locator("#sg-bulk-accept").click()
    expect(page.locator("#sg-bulk-undo")).to_be_visible()
    accepted = SuggestionDecision.objects.filter(decided_by=team.annotator2, state="accepted")
    assert sorted(d.suggestion_id for d in accepted) == [made[0].pk, made[1].pk]
    assert Annotation.objects.filter(annotator=team.annotator2).count() == 2
    page.locator("#sg-bulk-undo").click()
    expect(page.locator("#sg-bulk-undo")).to_have_count(0)
    assert not SuggestionDecision.objects.filter(decided_by=team.annotator2).exists()
    assert not Annotation.objects.filter(annotator=team.annotator2).exists()


def test_the_score_filter_holds_after_a_decision(page, live_server, team, suggested):
    article, made = suggested
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{article.pk}/?sg_min=0.7")
    expect(page.locator("#sg-items .sg-item")).to_have_count(2)
    page.keyboard.press("s")
    page.keyboard.press("n")
    expect(page.locator(f"#sg-{made[0].pk}.sg-mine-rejected")).to_be_attached()
    expect(page.locator("#sg-items .sg-item")).to_have_count(2)  # 0.35 and 0.66 still hidden
    assert page.locator(".sg-box").count() >= 2


def test_the_phone_layout(browser, live_server, team, suggested, artifacts):
    article, made = suggested
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    try:
        login(page, live_server, "anna")
        page.goto(f"{live_server.url}/articles/{article.pk}/")
        expect(page.locator("#annotate[data-suggestions-ready='1']")).to_be_attached()
        assert FIRST in _box_text(page, made[0].pk)
        page.keyboard.press("s")
        page.screenshot(path=str(_shots(artifacts) / "suggestions-390.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
    finally:
        context.close()


def test_the_metrics_page(browser, live_server, team, suggested, artifacts):
    article, made = suggested
    claim = services.claim_create(actor=team.curator, article=article, role="curator", exact=FIRST)
    services.review_set(
        actor=team.curator,
        claim=claim,
        role="curator",
        decision="accepted",
        topic=str(team.topic.pk),
        stance="oppose",
    )
    for width, height in ((1366, 850), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        page = context.new_page()
        try:
            login(page, live_server, "carmen")
            page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/suggestions/")
            expect(page.locator("#metrics-table")).to_contain_text("stance-llm@2")
            expect(page.locator(".sg-bar")).to_have_count(3)
            page.screenshot(
                path=str(_shots(artifacts) / f"suggestion-metrics-{width}.png"), full_page=True
            )
        finally:
            context.close()
