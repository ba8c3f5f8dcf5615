"""In a real browser: a curator starts the built-in suggester on every article from the corpus
page; the Jobs page follows it (htmx polling) to done, with its counts and a link to the
corpus's suggestions; at 1366 px and on a phone."""

import os

import pytest
from playwright.sync_api import expect

from articles.jobs import runner
from articles.models import Article, Job
from articles.services import text_sha256

from .conftest import login

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("JOBS_SHOTS")  # a folder: also save screenshots there (for a look)
TEXT = "The agency met on Monday. This export ban is a reckless mistake and must be repealed."


@pytest.mark.parametrize("width", [1366, 390])
def test_a_curator_suggests_on_every_article_and_follows_the_job(
    page, live_server, team, console_errors, width
):
    for n in range(2):
        Article.objects.create(
            corpus=team.corpus, title=f"Op-ed {n}", text=TEXT, text_sha256=text_sha256(TEXT)
        )
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
    button = page.get_by_role("button", name="Suggest claims on every article")
    expect(button).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/corpus-{width}.png")
    button.click()
    expect(page).to_have_url(f"{live_server.url}/corpora/{team.corpus.slug}/jobs/")
    row = page.locator("tr[data-job]")
    expect(row).to_have_attribute("data-status", "queued")
    expect(page.get_by_role("button", name="Export to a file")).to_have_count(0)  # curator
    runner.run(str(Job.objects.get().pk))  # what a worker does meanwhile
    expect(row).to_have_attribute("data-status", "done", timeout=8_000)  # no reload: polling
    expect(row).to_contain_text("on 3 articles")
    link = page.get_by_role("link", name="The corpus's suggestions")
    expect(link).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/jobs-{width}.png", full_page=True)
    link.click()
    expect(page).to_have_url(f"{live_server.url}/corpora/{team.corpus.slug}/suggestions/")
    assert not console_errors


def test_an_owner_on_a_phone_has_every_action_and_sees_the_job(
    page, live_server, team, console_errors
):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/corpus-owner-390.png")
    page.get_by_role("button", name="Suggest claims on every article").click()
    expect(page.get_by_role("button", name="Export to a file")).to_be_visible()
    runner.run(str(Job.objects.get().pk))
    expect(page.locator("tr[data-job]")).to_have_attribute("data-status", "done", timeout=8_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/jobs-owner-390.png", full_page=True)
    assert not console_errors


def test_a_curator_suggests_on_the_ticked_articles_only(page, live_server, team, console_errors):
    chosen = Article.objects.create(
        corpus=team.corpus, title="Ticked op-ed", text=TEXT, text_sha256=text_sha256(TEXT)
    )
    Article.objects.create(
        corpus=team.corpus, title="Left alone", text=TEXT, text_sha256=text_sha256(TEXT)
    )
    login(page, live_server, "carmen")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
    page.get_by_label("Select “Ticked op-ed”").check()
    expect(page.locator("[data-checked-count='articles']")).to_contain_text("1")
    page.locator(".bulk-bar").get_by_role("button", name="Suggest claims", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/corpora/{team.corpus.slug}/jobs/")
    job = Job.objects.get()
    assert job.params.get("articles") == [chosen.pk]
    runner.run(str(job.pk))
    row = page.locator("tr[data-job]")
    expect(row).to_have_attribute("data-status", "done", timeout=8_000)
    expect(row).to_contain_text("on 1 article")
    job.refresh_from_db()
    assert job.result["articles"] == 1
    assert not console_errors
