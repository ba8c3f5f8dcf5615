"""In a real browser: log in through the form, the dashboard, a corpus, search, pasted import."""

import re

import pytest
from playwright.sync_api import expect

from articles.models import Article, AssignmentState
from tests.factories import AnnotationFactory, ArticleFactory, AssignmentFactory, ClaimFactory

from .conftest import login

pytestmark = pytest.mark.e2e


def _populate(team):
    """A corpus that looks used: a few articles, assignments, tagged claims."""
    titles = [
        "Export controls will not stop determined labs",
        "Why the chip rules are working",
        "A quiet quarter for chip prices",
    ]
    articles = [team.article] + [
        ArticleFactory(corpus=team.corpus, title=title, author="Staff writer") for title in titles
    ]
    AssignmentFactory(article=articles[1], annotator=team.owner)
    AssignmentFactory(article=articles[2], annotator=team.owner, state=AssignmentState.SUBMITTED)
    AssignmentFactory(article=articles[1], annotator=team.annotator)
    for article in articles[:2]:
        claim = ClaimFactory(article=article, start=0, end=40)
        AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic, stance="oppose")
        AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
    return articles


def test_login_dashboard_corpus_search_and_import(
    page, live_server, team, artifacts, console_errors
):
    _populate(team)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.screenshot(path=str(artifacts / "pages-login.png"))

    login(page, live_server, "olivia")
    expect(page.get_by_role("heading", name="Your corpora")).to_be_visible()
    card = page.locator(".corpus-card", has_text="Chip export op-eds")
    expect(card.locator(".badge-owner")).to_have_text("Owner")
    expect(card.get_by_text("Your articles submitted")).to_be_visible()
    expect(page.get_by_text("Continue where you left off")).to_be_visible()
    expect(page.locator(".continue-card")).to_contain_text("Export controls will not stop")
    page.screenshot(path=str(artifacts / "pages-home.png"), full_page=True)

    card.get_by_role("link", name="Chip export op-eds").click()
    expect(page).to_have_url(re.compile(r"/corpora/chips/$"))
    expect(page.get_by_role("heading", name="Chip export op-eds", level=1)).to_be_visible()
    rows = page.locator(".articles-table tbody tr")
    expect(rows).to_have_count(4)
    page.screenshot(path=str(artifacts / "pages-corpus.png"), full_page=True)

    # Search swaps only the list (htmx) and puts the query in the address bar.
    page.get_by_label("Search", exact=True).fill("quiet quarter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("A quiet quarter for chip prices")
    expect(page).to_have_url(re.compile(r"[?&]q=quiet(\+|%20)quarter"))
    expect(page.get_by_role("heading", name="Chip export op-eds", level=1)).to_have_count(1)
    page.get_by_label("Has disagreements").check()
    expect(page.get_by_text("No article matches")).to_be_visible()
    page.get_by_role("link", name="clear the filters").click()
    expect(rows).to_have_count(4)

    # Import a pasted article.
    page.get_by_role("link", name="Import articles").first.click()
    expect(page.locator("details#import")).to_have_attribute("open", "")
    page.get_by_label("Title").fill("A pasted op-ed on chip smuggling")
    page.get_by_label("Text", exact=True).fill(
        "Smuggling routes adapt faster than rules.\n\nEnforcement needs partners."
    )
    page.get_by_label("Author").fill("Guest columnist")
    page.get_by_role("button", name="Import this article").click()
    expect(page.locator(".message.success")).to_contain_text(
        "Imported the article “A pasted op-ed on chip smuggling”."
    )
    expect(rows).to_have_count(5)
    assert Article.objects.filter(title="A pasted op-ed on chip smuggling").exists()
    page.screenshot(path=str(artifacts / "pages-corpus-imported.png"), full_page=True)

    # A failed import lists its reasons and keeps the form open.
    page.locator("#import > summary").click()
    page.get_by_label("Title").fill("No text")
    page.get_by_label("Text", exact=True).fill("   ")
    page.get_by_role("button", name="Import this article").click()
    expect(page.locator(".import-report")).to_contain_text("text is empty")
    expect(page.get_by_label("Title")).to_have_value("No text")
    page.screenshot(path=str(artifacts / "pages-import-failed.png"), full_page=True)

    # The failed import's page load is a 400 on purpose; nothing else (no CSP violation) may fail.
    assert [e for e in console_errors if "status of 400" not in e] == []
    assert len(console_errors) == 1


def test_annotator_sees_no_import_and_logs_out(page, live_server, team, artifacts, console_errors):
    _populate(team)
    login(page, live_server, "anna")
    page.goto(f"{live_server.url}/corpora/chips/")
    expect(page.locator(".badge-annotator").first).to_have_text("Annotator")
    expect(page.get_by_role("link", name="Import articles")).to_have_count(0)
    page.get_by_label("Assigned to me").check()
    expect(page.locator(".articles-table tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto(f"{live_server.url}/corpora/other/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    assert console_errors == []


def test_empty_dashboard_and_new_corpus(page, live_server, db, artifacts, console_errors):
    from tests.factories import UserFactory

    UserFactory(username="newcomer")
    login(page, live_server, "newcomer")
    expect(page.get_by_text("You are not in any corpus yet")).to_be_visible()
    page.screenshot(path=str(artifacts / "pages-home-empty.png"), full_page=True)
    page.get_by_label("Name", exact=True).fill("Energy op-eds")
    page.get_by_label("Topics, one per line").fill("Nuclear power is safe")
    page.get_by_role("button", name="Create corpus").click()
    expect(page).to_have_url(re.compile(r"/corpora/energy-op-eds/$"))
    expect(page.locator(".message.success")).to_contain_text("You are its owner")
    expect(page.get_by_text("No articles yet")).to_be_visible()
    page.screenshot(path=str(artifacts / "pages-corpus-empty.png"), full_page=True)
    assert console_errors == []
