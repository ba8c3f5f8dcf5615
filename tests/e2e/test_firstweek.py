"""In a real browser, at a laptop's and a phone's size: managing articles (details, trash, bulk
actions), one span one claim (the existing claim opens) and merging claims, an invitation from
the owner's link to the new member's corpus, and the guidelines drawer. Screenshots go to
/tmp/shots-firstweek-a (outside the repository)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from articles.models import Annotation, Article, Assignment, Claim, Guidelines, Membership

from ..factories import AnnotationFactory, ArticleFactory, ClaimFactory
from .conftest import login
from .test_annotate import _drag_select

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots-firstweek-a")
SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def size(request, page):
    page.set_viewport_size(SIZES[request.param])
    SHOTS.mkdir(exist_ok=True)
    return request.param


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _ready(page):
    expect(page.locator("body[data-ready='1']")).to_have_count(1)


def test_owner_manages_articles(page, live_server, team, size, console_errors):
    second = ArticleFactory(corpus=team.corpus, title="Second op-ed")
    ArticleFactory(corpus=team.corpus, title="Third op-ed")
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
    page.get_by_label("Select “Chips and policy”").check()
    page.get_by_label("Select “Second op-ed”").check()
    page.get_by_label("Annotator to assign them to").select_option("anna")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / f"corpus-bulk-{size}.png"), full_page=True)
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("Gave 2 articles to anna.")
    assert Assignment.objects.filter(annotator=team.annotator).count() == 2

    page.goto(f"{live_server.url}/articles/{team.article.pk}/")
    _ready(page)
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Title").fill("Chips, policy and power")
    page.get_by_label("Language").fill("en")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / f"article-edit-{size}.png"), full_page=True)
    page.get_by_role("button", name="Save details").click()
    expect(page.locator("h1")).to_have_text("Chips, policy and power")

    page.goto(f"{live_server.url}/articles/{second.pk}/edit/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Move to the trash").click()
    expect(page.locator(".message.success")).to_contain_text("Moved “Second op-ed” to the trash")
    assert Article.objects.get(pk=second.pk).deleted_at is not None
    assert console_errors == []


def test_select_all_ticks_the_page_and_counts_what_is_ticked(
    page, live_server, team, size, console_errors
):
    ArticleFactory(corpus=team.corpus, title="Second op-ed")
    ArticleFactory(corpus=team.corpus, title="Third op-ed")
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
    every = page.get_by_label("Select every article on this page")
    count = page.locator(".bulk-count")
    boxes = page.locator('#bulk-form input[name="articles"]')
    expect(count).to_have_text(" (none yet)")

    every.check()
    expect(boxes).to_have_count(3)
    for index in range(3):
        expect(boxes.nth(index)).to_be_checked()
    expect(count).to_have_text(" (3)")

    page.get_by_label("Select “Third op-ed”").uncheck()
    expect(count).to_have_text(" (2)")
    assert page.evaluate("document.getElementById('pick-all').indeterminate") is True
    expect(every).not_to_be_checked()
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / f"corpus-select-all-{size}.png"), full_page=True)

    every.check()  # from "some" to all again
    expect(count).to_have_text(" (3)")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#bulk-form").get_by_role("button", name="Move to the trash").click()
    expect(page.locator(".message.success")).to_contain_text("3")
    assert not Article.objects.alive().filter(corpus=team.corpus).exists()
    assert console_errors == []


def test_selecting_a_claimed_passage_opens_that_claim(
    page, live_server, team, size, console_errors
):
    existing = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator2)
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{team.article.pk}/")
    _ready(page)
    _drag_select(page, "Restricting chip exports is shortsighted")
    expect(page.locator("#selection-pop")).to_be_visible()
    page.get_by_role("button", name="Claim", exact=True).click()
    expect(page.locator("#save-status")).to_have_text(
        "This passage is a claim already: opened it for tagging."
    )
    expect(page.locator("#panel-body")).to_have_attribute("data-claim-id", str(existing.pk))
    page.screenshot(path=str(SHOTS / f"claim-existing-{size}.png"), full_page=True)
    assert Claim.objects.filter(article=team.article).count() == 1
    assert console_errors == []


def test_curator_merges_two_claims_choosing_in_a_conflict(
    page, live_server, team, size, console_errors
):
    a = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    b = ClaimFactory(article=team.article, start=0, end=41, created_by=team.annotator2)
    AnnotationFactory(claim=a, annotator=team.annotator, stance="oppose", note="anna, first")
    AnnotationFactory(claim=b, annotator=team.annotator, stance="support", note="anna, second")
    AnnotationFactory(claim=b, annotator=team.annotator2, stance="support")
    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/claims/{a.pk}/review/")
    page.get_by_role("link", name="Merge with another claim").click()
    page.get_by_label("Claim of this article").select_option(str(b.pk))
    page.get_by_role("button", name="Show what moves").click()
    expect(page.locator(".merge-conflict")).to_contain_text("anna")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / f"claim-merge-{size}.png"), full_page=True)
    page.get_by_label("On the claim that goes").check()
    page.get_by_role("button", name="Merge the claims").click()
    expect(page.locator(".message.success")).to_contain_text("Merged the two claims")
    assert page.url.endswith(f"/claims/{b.pk}/review/")
    assert sorted(Annotation.objects.filter(claim=b).values_list("note", flat=True)) == [
        "",
        "anna, first",
    ]
    assert console_errors == []


def test_an_invited_person_sets_a_password_and_lands_in_the_corpus(
    page, browser, live_server, team, size, console_errors
):
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/settings/")
    page.get_by_label("E-mail address").fill("nadia@example.org")
    page.locator("#invite-role").select_option("annotator")
    page.locator("#members").screenshot(path=str(SHOTS / f"invite-form-{size}.png"))
    page.get_by_role("button", name="Create an invitation link").click()
    link = page.locator("#invitation-link").inner_text()
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / f"invitation-created-{size}.png"), full_page=True)

    context = browser.new_context(viewport=SIZES[size], locale="en-US")
    newcomer = context.new_page()
    newcomer.goto(link)
    expect(newcomer.locator("h1")).to_have_text("Join “Chip export op-eds”")
    newcomer.get_by_label("Username").fill("nadia")
    newcomer.get_by_label("Password", exact=True).fill("short")
    newcomer.get_by_label("Password again").fill("short")
    newcomer.get_by_role("button", name="Create my account and join").click()
    expect(newcomer.locator(".errorlist").first).to_contain_text("too short")
    newcomer.screenshot(path=str(SHOTS / f"invitation-signup-{size}.png"), full_page=True)
    newcomer.get_by_label("Password", exact=True).fill("a-long-enough-passphrase-42")
    newcomer.get_by_label("Password again").fill("a-long-enough-passphrase-42")
    newcomer.get_by_role("button", name="Create my account and join").click()
    expect(newcomer.locator(".message.success")).to_contain_text("You joined")
    assert newcomer.url.endswith(f"/corpora/{team.corpus.slug}/")
    expect(newcomer.locator("h1")).to_have_text("Chip export op-eds")
    assert Membership.objects.get(user__username="nadia").role == "annotator"
    newcomer.screenshot(path=str(SHOTS / f"invitation-landed-{size}.png"), full_page=True)
    context.close()
    assert console_errors == []


def test_annotators_read_the_guidelines_in_a_drawer(page, live_server, team, size, console_errors):
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/guidelines/")
    page.get_by_label("Markdown").fill(
        "# How we tag\n\nA **claim** is a statement someone could dispute.\n\n"
        "- Mark the shortest span that says it.\n- Stance is toward the topic.\n\n"
        "<script>alert('x')</script>"
    )
    page.get_by_role("button", name="Save the guidelines").click()
    expect(page.locator(".guidelines-body h1")).to_have_text("How we tag")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / f"guidelines-page-{size}.png"), full_page=True)
    assert Guidelines.objects.get().version == 2

    page.context.clear_cookies()
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/articles/{team.article.pk}/")
    _ready(page)
    page.locator(".guidelines-drawer > summary").click()
    drawer = page.locator(".guidelines-drawer-body")
    expect(drawer.locator("h1")).to_have_text("How we tag")
    expect(drawer).to_contain_text("<script>alert('x')</script>")  # shown as text, not run
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / f"guidelines-drawer-{size}.png"))
    assert console_errors == []
