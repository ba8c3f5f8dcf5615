"""Annotation guidelines: owners write Markdown (page and API), members read it rendered and
sanitised (the page, the drawer of the annotation page), every change is in the audit log."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from articles.guidelines import render_guidelines
from articles.models import AuditEvent, Guidelines

pytestmark = pytest.mark.django_db

RULES = "# How we tag\n\nA **claim** is a statement someone could dispute.\n\n- one per span\n"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(team):
    return reverse("corpus-guidelines", args=[team.corpus.slug])


@pytest.mark.parametrize(
    ("markdown", "absent", "present"),
    [
        ("<script>alert(1)</script>", "<script", "&lt;script&gt;"),
        ('<img src=x onerror="alert(1)">', "<img", "&lt;img"),
        ("[click](javascript:alert(1))", 'href="javascript', "click"),
        ("[site](https://example.org)", "javascript", 'rel="noopener noreferrer nofollow"'),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<script", "<table>"),
    ],
)
def test_rendering_is_sanitised(markdown, absent, present):
    html = str(render_guidelines(markdown))
    assert absent not in html
    assert present in html


def test_owner_writes_guidelines_members_read_them_and_the_change_is_audited(team):
    client = _client(team.owner)
    response = client.post(_url(team), {"text": RULES, "version": 1})
    assert response.status_code == 302
    page = _client(team.annotator).get(_url(team)).content.decode()
    assert "<h1>How we tag</h1>" in page and "<strong>claim</strong>" in page
    assert 'name="text"' not in page  # annotators read, they do not edit
    client.post(_url(team), {"text": "Shorter rules.", "version": 2})
    events = AuditEvent.objects.filter(verb="guidelines.update").order_by("id")
    assert [e.before["guidelines"] for e in events] == ["", RULES]
    assert events.last().after["guidelines"] == "Shorter rules."


def test_a_stale_version_is_409_and_keeps_the_newer_text(team):
    client = _client(team.owner)
    client.post(_url(team), {"text": "First", "version": 1})
    response = client.post(_url(team), {"text": "Second", "version": 1})
    assert response.status_code == 409
    assert Guidelines.objects.get().text == "First"
    assert "Second" in response.content.decode()  # what they typed, shown again


def test_too_long_guidelines_are_refused_naming_the_field(team):
    response = _client(team.owner).post(_url(team), {"text": "x" * 100_001, "version": 1})
    assert response.status_code == 400
    assert "text" in response.content.decode()
    assert not Guidelines.objects.exists()


def test_permissions_on_the_page(team):
    for name in ("curator", "annotator", "viewer"):
        response = _client(getattr(team, name)).post(_url(team), {"text": "x", "version": 1})
        assert response.status_code == 403
        assert b"This needs the role <strong>owner</strong>" in response.content
        assert _client(getattr(team, name)).get(_url(team)).status_code == 200
    assert _client(team.outsider).get(_url(team)).status_code == 404


def test_the_article_page_has_the_drawer_and_htmx_gets_the_body(team):
    Guidelines.objects.create(corpus=team.corpus, text=RULES)
    client = _client(team.annotator)
    page = client.get(reverse("article", args=[team.article.pk])).content.decode()
    assert '<details class="guidelines-drawer"' in page and _url(team) in page
    fragment = client.get(_url(team), HTTP_HX_REQUEST="true").content.decode()
    assert "<h1>How we tag</h1>" in fragment and "<html" not in fragment


def test_api_reads_and_replaces_the_guidelines(team):
    api = APIClient()
    api.force_authenticate(team.annotator)
    url = reverse("api-guidelines", kwargs={"slug": team.corpus.slug})
    assert api.get(url).json() == {
        "text": "",
        "html": "",
        "version": 1,
        "updated_at": None,
        "updated_by": None,
    }
    response = api.put(url, {"text": RULES}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 403 and "needs owner" in response.json()["detail"]
    api.force_authenticate(team.owner)
    response = api.put(url, {"text": "First"}, format="json")  # the first need no version
    assert response.status_code == 200 and response.json()["version"] == 2
    assert api.put(url, {"text": RULES}, format="json").status_code == 428
    response = api.put(url, {"text": RULES}, format="json", HTTP_IF_MATCH='"2"')
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 3 and body["updated_by"] == "olivia"
    assert "<h1>How we tag</h1>" in body["html"]
    assert response["ETag"] == '"3"'
    stale = api.put(url, {"text": "x"}, format="json", HTTP_IF_MATCH='"2"')
    assert stale.status_code == 412 and stale.json()["current"]["version"] == 3
    api.force_authenticate(team.outsider)
    assert api.get(url).status_code == 404
