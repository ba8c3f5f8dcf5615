"""In a real browser: the corpus page's export menu with the API's filters downloads the file
those filters select."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory, ReviewFactory

from .conftest import login

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("size", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}])
def test_export_menu_downloads_what_its_filters_select(
    page, live_server, team, artifacts, console_errors, size
):
    accepted = ClaimFactory(article=team.article, start=0, end=40)
    AnnotationFactory(claim=accepted, annotator=team.annotator, topic=team.topic)
    ReviewFactory(claim=accepted, curator=team.curator, topic=team.topic)
    ArticleFactory(corpus=team.corpus, title="An op-ed nobody reviewed")
    page.set_viewport_size(size)
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/corpora/{team.corpus.slug}/")
    page.locator("summary", has_text="Export").click()
    form = page.locator("#export-form")
    expect(form).to_be_visible()
    form.get_by_label("Gold only").check()
    form.get_by_label("Annotations").select_option("submitted")
    form.get_by_label("Annotator").select_option("anna")
    box = form.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"]
    page.screenshot(path=str(artifacts / f"export-menu-{size['width']}.png"))
    form.get_by_label("Annotations").select_option("")
    with page.expect_download() as info:
        form.get_by_role("button", name="Download").click()
    text = Path(info.value.path()).read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["title"] for line in lines] == ["Chips and policy"]
    assert [claim["id"] for claim in lines[0]["claims"]] == [str(accepted.pk)]
    assert console_errors == []
