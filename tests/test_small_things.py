"""Smaller things a team meets in its first week: the export menu's filters, who is asked to
tag and submit, the evidence type left unsaid, the favicon, the selected queue tile."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from articles import services
from articles.models import Assignment, AssignmentState, Evidence
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory, ReviewFactory


def _export_page(client, team, **params):
    return client.get(reverse("corpus-export", args=[team.corpus.slug]), params)


# --- The export menu -----------------------------------------------------------------------------


def test_the_owner_export_menu_offers_the_api_filters(client, team):
    second = ArticleFactory(corpus=team.corpus, title="Second op-ed")
    client.force_login(team.owner)
    html = client.get(reverse("corpus", args=[team.corpus.slug])).content.decode()
    form = html[
        html.index('id="export-form"') : html.index("</form>", html.index('id="export-form"'))
    ]
    assert f'action="{reverse("corpus-export", args=[team.corpus.slug])}"' in html
    assert '<option value="jsonl">' in form and '<option value="aif">' in form
    assert 'name="gold_only" value="true"' in form
    assert '<option value="">Drafts and submitted</option>' in form
    assert '<option value="submitted">Submitted only</option>' in form
    annotators = re.findall(r'<option value="(\w+)">\1</option>', form)
    assert annotators == ["anna", "arjun", "carmen", "olivia"]  # members who tag, not victor
    assert f'<option value="{second.pk}">Second op-ed</option>' in form
    assert f'<option value="{team.article.pk}">Chips and policy</option>' in form


@pytest.mark.parametrize("role", ["curator", "annotator", "viewer"])
def test_only_owners_get_the_export_menu(client, team, role):
    client.force_login(getattr(team, role))
    assert (
        'id="export-form"'
        not in client.get(reverse("corpus", args=[team.corpus.slug])).content.decode()
    )
    assert _export_page(client, team, format="jsonl").status_code == 403


def test_the_menu_drops_any_and_sends_the_rest_to_the_api_export(client, team):
    second = ArticleFactory(corpus=team.corpus)
    client.force_login(team.owner)
    response = _export_page(
        client,
        team,
        format="csv",
        gold_only="true",
        status="",
        annotator="anna",
        article=[str(team.article.pk), str(second.pk)],
    )
    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("api-corpus-export", args=[team.corpus.slug])
    assert parse_qs(target.query) == {
        "format": ["csv"],
        "gold_only": ["true"],
        "annotator": ["anna"],
        "article": [str(team.article.pk), str(second.pk)],
    }
    everything = _export_page(client, team, format="jsonl", status="", annotator="")
    assert parse_qs(urlsplit(everything.url).query) == {"format": ["jsonl"]}


def test_the_exported_file_honours_the_menu_filters(client, team):
    accepted = ClaimFactory(article=team.article, start=0, end=40)
    other = ClaimFactory(article=team.article, start=42, end=85)
    for claim in (accepted, other):
        AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    ReviewFactory(claim=accepted, curator=team.curator, topic=team.topic)
    ArticleFactory(corpus=team.corpus, title="Not chosen")
    client.force_login(team.owner)
    response = _export_page(client, team, format="jsonl", gold_only="true", article=team.article.pk)
    download = client.get(response.url)
    assert download.status_code == 200
    lines = [json.loads(line) for line in b"".join(download.streaming_content).splitlines()]
    assert [line["title"] for line in lines] == ["Chips and policy"]
    assert [claim["id"] for claim in lines[0]["claims"]] == [str(accepted.pk)]


def test_a_bad_choice_is_a_400_naming_it(client, team):
    client.force_login(team.owner)
    response = _export_page(client, team, format="pdf", status="maybe")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing exported" in html and "format:" in html and "status:" in html
    assert f'href="{reverse("corpus", args=[team.corpus.slug])}"' in html
    assert client.post(reverse("corpus-export", args=[team.corpus.slug])).status_code == 405
    client.force_login(team.outsider)
    assert _export_page(client, team, format="jsonl").status_code == 404


# --- Who is asked to tag and submit ------------------------------------------------------------


def _page(client, user, team):
    client.force_login(user)
    return client.get(reverse("article", args=[team.article.pk])).content.decode()


@pytest.fixture
def claim(team):
    return ClaimFactory(article=team.article, start=0, end=40)


def test_annotators_are_asked_for_a_stance_and_their_work(client, team, claim):
    html = _page(client, team.annotator, team)
    assert "Submit my work" in html and "No stance from you" in html


def test_viewers_and_curators_not_assigned_are_not_asked(client, team, claim):
    for user in (team.viewer, team.curator, team.owner):
        html = _page(client, user, team)
        assert "Submit my work" not in html, user
        assert "No stance from you" not in html, user
    assert "Read only (viewer)" in _page(client, team.viewer, team)
    curator = _page(client, team.curator, team)
    assert "Read only" not in curator
    assert 'id="stance-support"' not in curator  # no panel open; the tag form is in the panel
    # They can still tag a claim when they want to (the panel's form).
    client.force_login(team.curator)
    panel = client.get(reverse("claim-panel", args=[claim.pk]), HTTP_HX_REQUEST="true")
    assert 'id="stance-support"' in panel.content.decode()
    listing = client.get(
        reverse("article-claim-list", args=[team.article.pk]) + "?filter=untagged",
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert f'data-claim="{claim.pk}"' in listing  # untagged by anyone


def test_a_curator_assigned_or_tagging_is_asked_like_an_annotator(client, team, claim):
    Assignment.objects.create(
        article=team.article, annotator=team.curator, state=AssignmentState.ASSIGNED
    )
    html = _page(client, team.curator, team)
    assert "Submit my work" in html and "No stance from you" in html
    services.annotation_create(
        actor=team.owner, claim=claim, role="owner", topic=team.topic, stance="support"
    )
    second = ClaimFactory(article=team.article, start=42, end=85)
    html = _page(client, team.owner, team)
    assert "Submit my work" in html
    assert html.count("No stance from you") == 1  # the second claim
    assert f'data-claim="{second.pk}"' in html


# --- The evidence type, the favicon, the selected tile -------------------------------------------


def test_evidence_without_a_type_is_other(client, team, claim):
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    client.force_login(team.annotator)
    panel = client.get(reverse("claim-panel", args=[claim.pk]), HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert '<select name="evidence_type" id="evidence-type"><option value="" selected>' in html
    assert '<option value="study" selected>' not in html
    client.post(
        reverse("evidence-add", args=[claim.pk]),
        {"kind": "span", "start": 42, "end": 85, "evidence_type": "", "role": "supports",
         "version": annotation.version},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert Evidence.objects.get(annotation=annotation).evidence_type == "other"


def test_every_page_links_the_svg_favicon(client, team):
    client.force_login(team.viewer)
    html = client.get(reverse("home")).content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in html
    icon = Path(settings.BASE_DIR) / "static" / "img" / "favicon.svg"
    assert icon.read_text().startswith('<svg xmlns="http://www.w3.org/2000/svg"')


def test_the_selected_queue_tile_is_marked_and_styled(client, team):
    client.force_login(team.curator)
    html = client.get(reverse("corpus-review", args=[team.corpus.slug]) + "?state=single")
    assert (
        'class="tally tally-single" href="?state=single" aria-current="true"'
        in html.content.decode()
    )
    css = (Path(settings.BASE_DIR) / "static" / "css" / "review.css").read_text()
    assert '.tally[aria-current="true"]' in css
