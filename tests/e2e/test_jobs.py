"""In a real browser: the export menu starts a background export, and the jobs list updates
itself (htmx polling) from queued to done with a download link, without a reload."""

import os

import pytest
from django.core.files.storage import FileSystemStorage
from playwright.sync_api import expect

from articles.jobs import runner
from articles.models import Job

from .conftest import login

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("JOBS_SHOTS")  # a folder: also save screenshots there (for a look)


def test_an_export_started_from_the_menu_shows_its_progress_and_file(
    page, live_server, team, console_errors, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        Job._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path / "jobs")
    )
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
    page.locator("details.menu > summary", has_text="Export").click()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/menu-{page.viewport_size['width']}.png")
    page.get_by_role("button", name="CSV, in the background").click()
    expect(page).to_have_url(f"{live_server.url}/corpora/{team.corpus.slug}/jobs/")
    row = page.locator("tr[data-job]")
    expect(row).to_have_attribute("data-status", "queued")
    expect(page.get_by_text("Export to csv started")).to_be_visible()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/queued-{page.viewport_size['width']}.png", full_page=True)

    job = Job.objects.get()
    assert runner.run(str(job.pk)) == "done"  # what a worker does meanwhile

    expect(row).to_have_attribute("data-status", "done", timeout=8_000)  # no reload: polling
    link = page.get_by_role("link", name="Download chips.csv")
    expect(link).to_be_visible()
    assert page.locator("#job-list[hx-trigger]").count() == 0  # polling stopped
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/done-{page.viewport_size['width']}.png", full_page=True)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "chips.csv"
    assert not console_errors


def test_the_jobs_page_on_a_phone(page, live_server, team, console_errors, tmp_path, monkeypatch):
    monkeypatch.setattr(
        Job._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path / "jobs")
    )
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/jobs/")
    page.get_by_label("Format").select_option("aif")
    page.get_by_role("button", name="Export to a file").click()
    expect(page.locator("tr[data-job]")).to_have_attribute("data-status", "queued")
    runner.run(str(Job.objects.get().pk))
    expect(page.locator("tr[data-job]")).to_have_attribute("data-status", "done", timeout=8_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # each job is a card on a phone: nothing scrolls sideways
    assert page.locator("tr[data-job] td").last.bounding_box()["x"] < 60  # stacked, not beside
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/phone-390.png", full_page=True)
        page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
        page.locator("details.menu > summary", has_text="Export").click()
        page.screenshot(path=f"{SHOTS}/menu-390.png", full_page=True)
    assert not console_errors
