"""In a real browser: a curator settles a disagreement, a comment thread updates live, and the
team pages (agreement, settings, audit, assignments) render cleanly (screenshots for review)."""

import re

import pytest
from playwright.sync_api import expect

from articles import services
from articles.models import Review
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    EvidenceFactory,
    TopicFactory,
)

from .conftest import VIEWPORT, login

pytestmark = pytest.mark.e2e

SPANS = [(0, 40), (42, 85), (87, 139), (141, 198)]


def _disagreement(team):
    claim = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    support = AnnotationFactory(
        claim=claim,
        annotator=team.annotator,
        stance="support",
        topic=team.topic,
        note="Reads as a defence of the controls.",
        confidence=3,
    )
    EvidenceFactory(annotation=support, title="Commerce Department briefing", quote="Sales fell.")
    AnnotationFactory(
        claim=claim,
        annotator=team.annotator2,
        stance="oppose",
        topic=team.topic,
        note="“Shortsighted” is a judgement against the restrictions.",
        confidence=5,
    )
    return claim


def test_curator_settles_a_disagreement(page, live_server, team, artifacts, console_errors):
    claim = _disagreement(team)
    agreed = ClaimFactory(article=team.article, start=42, end=85, created_by=team.annotator)
    for user in (team.annotator, team.annotator2):
        AnnotationFactory(claim=agreed, annotator=user, stance="support", topic=team.topic)

    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/corpora/chips/review/")
    rows = page.locator("tr.queue-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Stances differ")  # the disagreement comes first
    page.screenshot(path=artifacts / "review-queue.png", full_page=True)

    rows.first.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review a claim")).to_be_visible()
    expect(page.locator(".annotation-card")).to_have_count(2)
    expect(page.locator("mark.claim-exact")).to_have_text(claim.exact)
    page.screenshot(path=artifacts / "review-claim.png", full_page=True)

    page.get_by_label("Oppose").check()  # picking a stance also picks "accept"
    expect(page.get_by_label("Accept with a gold label")).to_be_checked()
    page.get_by_role("button", name="Save decision").click()
    # The next claim of the queue opens: the agreed one, with its one-key accept.
    expect(page).to_have_url(re.compile(rf"/claims/{agreed.pk}/review/"))
    expect(page.locator(".message")).to_contain_text("accepted with gold stance oppose")
    expect(page.locator(".agreed-box")).to_contain_text("All 2 annotators chose")
    page.keyboard.press("a")
    expect(page.locator("#current-review")).to_contain_text("gold: support")
    expect(page.locator(".message").last).to_contain_text("No unreviewed claim left")

    review = Review.objects.get(claim=claim)
    assert (review.decision, review.stance, review.curator) == ("accepted", "oppose", team.curator)

    page.goto(f"{live_server.url}/corpora/chips/review/")
    expect(page.locator(f'tr[data-claim="{claim.pk}"]')).to_contain_text("gold: oppose")
    expect(page.locator(f'tr[data-claim="{claim.pk}"]')).to_contain_text("Accepted")
    page.goto(f"{live_server.url}/claims/{claim.pk}/review/")
    expect(page.locator("#current-review")).to_contain_text("gold: oppose")
    expect(page.locator("#current-review")).to_contain_text("by carmen")
    page.screenshot(path=artifacts / "review-claim-decided.png", full_page=True)
    page.get_by_role("link", name="History of this claim").click()
    expect(page.locator(".timeline-event")).to_have_count(1)  # the review (factories skip audit)
    expect(page.locator(".timeline-event")).to_contain_text("review.create")
    page.screenshot(path=artifacts / "review-history.png", full_page=True)
    assert console_errors == []


def test_comment_thread_updates_without_reload(
    page, browser, live_server, team, artifacts, console_errors
):
    claim = _disagreement(team)
    url = f"{live_server.url}/claims/{claim.pk}/review/"
    login(page, live_server, "carmen")
    page.goto(url)
    expect(page.locator(".no-comments")).to_be_visible()

    other = browser.new_context(viewport=VIEWPORT, locale="en-US")
    try:
        second = other.new_page()
        login(second, live_server, "olivia")
        second.goto(url)
        second.get_by_label("Add to the discussion").fill(
            "<b>Both</b> readings hold; I lean oppose."
        )
        second.get_by_role("button", name="Post comment").click()
        # The poster sees it at once (htmx swap) and the form empties.
        expect(second.locator(".comment")).to_have_count(1)
        expect(second.get_by_label("Add to the discussion")).to_have_value("")
    finally:
        other.close()

    # The first browser was not reloaded: the thread polls and the comment appears.
    comment = page.locator(".comment")
    expect(comment).to_have_count(1, timeout=12_000)
    expect(comment).to_contain_text("<b>Both</b> readings hold; I lean oppose.")  # escaped text
    expect(comment).to_contain_text("olivia")
    page.get_by_label("Add to the discussion").fill("Agreed, accepting as oppose.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment")).to_have_count(2)
    page.locator(".thread").screenshot(path=artifacts / "review-thread.png")
    assert console_errors == []


def _populate_agreement(team):
    second_topic = TopicFactory(corpus=team.corpus, label="Open models need export rules")
    users = [team.annotator, team.annotator2, team.curator, team.owner]
    stances = ["support", "oppose", "neutral"]
    titles = [
        "Export controls will not stop determined labs",
        "Why the chip rules are working",
        "A quiet quarter for chip prices",
        "Smugglers and the grey market",
    ]
    for n, title in enumerate(titles):
        article = ArticleFactory(corpus=team.corpus, title=title)
        for k, (start, end) in enumerate(SPANS):
            claim = ClaimFactory(article=article, start=start, end=end)
            for u, user in enumerate(users):
                if (n + k + u) % 5 == 4:
                    continue  # some missing tags
                stance = stances[(k + (u * n) // 2) % 3]
                topic = second_topic if (n == 3 and u == 3 and k == 0) else team.topic
                AnnotationFactory(claim=claim, annotator=user, stance=stance, topic=topic)
        AssignmentFactory(article=article, annotator=team.annotator)


def test_agreement_page_and_team_pages_render(page, live_server, team, artifacts, console_errors):
    _populate_agreement(team)
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    deleted = ArticleFactory(corpus=team.corpus, title="An article deleted by mistake")
    services.article_delete(actor=team.owner, article=deleted, role="owner")
    services.topic_update(
        actor=team.owner,
        topic=team.topic,
        role="owner",
        version=1,
        label="US export controls on AI chips work",
    )
    login(page, live_server, "olivia")

    page.goto(f"{live_server.url}/corpora/chips/agreement/")
    expect(page.get_by_role("heading", name="Inter-annotator agreement")).to_be_visible()
    expect(page.locator("svg.heatmap .heat-cell")).to_have_count(16)
    expect(page.locator("svg.bars")).to_be_visible()
    expect(page.locator("svg.stacks")).to_be_visible()
    page.screenshot(path=artifacts / "agreement-corpus.png", full_page=True)
    page.locator("svg.heatmap").screenshot(path=artifacts / "agreement-heatmap.png")
    page.locator("svg.bars").screenshot(path=artifacts / "agreement-bars.png")
    page.locator("svg.stacks").screenshot(path=artifacts / "agreement-stances.png")
    page.locator("svg.bars a").nth(1).click()  # an article with tags
    expect(page).to_have_url(re.compile(r"\?article=\d+"))
    page.screenshot(path=artifacts / "agreement-article.png", full_page=True)

    page.goto(f"{live_server.url}/corpora/chips/settings/")
    expect(page.get_by_text("Registration is closed.")).to_be_visible()
    page.screenshot(path=artifacts / "settings.png", full_page=True)
    page.get_by_label("Username or e-mail").fill("victor")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(".message")).to_contain_text("victor is a member of this corpus already")

    page.goto(f"{live_server.url}/corpora/chips/audit/")
    expect(page.locator("tr.audit-row").first).to_be_visible()
    page.screenshot(path=artifacts / "audit.png", full_page=True)

    page.goto(f"{live_server.url}/corpora/chips/assignments/")
    page.get_by_label("Annotators per article").fill("2")
    page.get_by_role("button", name="Balance assignments").click()
    expect(page.locator(".message")).to_contain_text("Created")
    page.goto(f"{live_server.url}/corpora/chips/assignments/")  # top of the page, no anchor
    page.screenshot(path=artifacts / "assignments.png", full_page=True)

    page.goto(f"{live_server.url}/corpora/chips/trash/")
    expect(page.get_by_text("An article deleted by mistake")).to_be_visible()
    page.screenshot(path=artifacts / "trash.png", full_page=True)
    # Adding a member twice is answered 409 on purpose; nothing else (no CSP violation) may fail.
    assert console_errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]


def test_empty_agreement_page(page, live_server, team, artifacts, console_errors):
    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/corpora/chips/agreement/")
    expect(page.locator(".not-enough").first).to_be_visible()
    page.screenshot(path=artifacts / "agreement-empty.png", full_page=True)
    assert console_errors == []
