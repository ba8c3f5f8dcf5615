"""The suggestions panel of the annotation page without a browser: what each role sees, the
writes with and without htmx, the filters, bulk acceptance and its undo, escaping, blind mode,
and the page's query count."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import selectors, services
from articles.models import Annotation, SuggestionDecision
from tests.factories import SAMPLE_TEXT

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
FIRST = "Restricting chip exports is shortsighted."
CRITICS = "Critics call the policy a gift to domestic rivals."
HOSTILE_MODEL = "<script>alert(1)</script>@1"


@pytest.fixture
def made(team):
    _, curator = selectors.corpus_with_access(team.curator, team.corpus.slug)
    return services.suggestions_create(
        access=curator,
        article=team.article,
        model=HOSTILE_MODEL,
        suggestions=[
            {"exact": FIRST, "stance": "oppose", "score": 0.9},
            {"exact": "Prices rose by 12% in a single quarter.", "score": 0.4},
            {"exact": CRITICS, "stance": "support", "score": 0.85},
        ],
    )


def _page(client, team, **query):
    return client.get(f"/articles/{team.article.pk}/", query)


def test_annotator_sees_the_panel_with_actions_and_escaped_text(client, team, made):
    client.force_login(team.annotator)
    html = _page(client, team).content.decode()
    assert 'id="suggestions"' in html and f'id="sg-{made[0].pk}"' in html
    assert f'action="/suggestions/{made[0].pk}/accept"' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@1" in html


def test_viewer_reads_without_actions(client, team, made):
    client.force_login(team.viewer)
    html = _page(client, team).content.decode()
    assert f'id="sg-{made[0].pk}"' in html
    assert "/accept" not in html
    response = client.post(f"/suggestions/{made[0].pk}/accept")
    assert response.status_code == 403


def test_filters_by_model_and_score(client, team, made):
    client.force_login(team.annotator)
    html = _page(client, team, sg_min="0.8").content.decode()
    assert f'id="sg-{made[0].pk}"' in html and f'id="sg-{made[1].pk}"' not in html
    html = _page(client, team, sg_model="other@1").content.decode()
    assert "No suggestion matches these filters." in html
    assert _page(client, team, sg_min="bogus").status_code == 200  # ignored, not an error


def test_accept_without_javascript_redirects_and_tags(client, team, made):
    client.force_login(team.annotator)
    response = client.post(f"/suggestions/{made[0].pk}/accept")
    assert response.status_code == 302
    annotation = Annotation.objects.get(annotator=team.annotator)
    assert annotation.stance == "oppose" and annotation.claim.exact == FIRST
    assert f"claim={annotation.claim_id}" in response["Location"]


def test_accept_with_htmx_opens_the_claim_and_refreshes_the_list(client, team, made):
    client.force_login(team.annotator)
    response = client.post(f"/suggestions/{made[2].pk}/accept", {"stance": "neutral"}, **HX)
    assert response.status_code == 200
    assert 'id="panel-body"' in response.content.decode()
    events = json.loads(response["HX-Trigger"])
    assert "claims-changed" in events and "saved" in events
    assert Annotation.objects.get(annotator=team.annotator).stance == "neutral"


def test_accept_without_stance_is_refused_with_the_reason(client, team, made):
    client.force_login(team.annotator)
    response = client.post(f"/suggestions/{made[1].pk}/accept", **HX)
    assert response.status_code == 400
    assert "no stance" in response.content.decode()
    response = client.post(f"/suggestions/{made[1].pk}/accept", {"stance": "maybe"}, **HX)
    assert response.status_code == 400
    assert not Annotation.objects.exists()


def test_reject_and_undo(client, team, made):
    client.force_login(team.annotator)
    response = client.post(f"/suggestions/{made[0].pk}/reject", **HX)
    assert response.status_code == 200 and "claims-changed" in response["HX-Trigger"]
    assert SuggestionDecision.objects.get().state == "rejected"
    client.post(f"/suggestions/{made[0].pk}/undo", **HX)
    assert not SuggestionDecision.objects.exists()
    client.post(f"/suggestions/{made[0].pk}/accept", **HX)
    client.post(f"/suggestions/{made[0].pk}/undo", **HX)
    assert not Annotation.objects.exists()  # the acceptance made it, the undo removed it


def test_undo_keeps_an_annotation_edited_since(client, team, made):
    client.force_login(team.annotator)
    client.post(f"/suggestions/{made[0].pk}/accept", **HX)
    annotation = Annotation.objects.get()
    services.annotation_update(
        actor=team.annotator, annotation=annotation, role="annotator", note="mine now"
    )
    client.post(f"/suggestions/{made[0].pk}/undo", **HX)
    assert Annotation.objects.get().note == "mine now"


def test_bulk_accept_above_a_score_then_undo(client, team, made):
    client.force_login(team.annotator)
    response = client.post(
        f"/articles/{team.article.pk}/suggestions/accept", {"threshold": "0.3"}, **HX
    )
    assert response.status_code == 200
    message = json.loads(response["HX-Trigger"])["saved"]["message"]
    assert "Accepted 2 suggestions" in message and "1 without a stance" in message
    assert Annotation.objects.filter(annotator=team.annotator).count() == 2
    html = _page(client, team).content.decode()
    assert 'id="sg-bulk-undo"' in html
    batch = SuggestionDecision.objects.first().batch
    # Someone else's undo of it takes back nothing of anna's.
    client.force_login(team.annotator2)
    client.post(f"/articles/{team.article.pk}/suggestions/undo", {"batch": batch}, **HX)
    assert Annotation.objects.filter(annotator=team.annotator).count() == 2
    client.force_login(team.annotator)
    client.post(f"/articles/{team.article.pk}/suggestions/undo", {"batch": batch}, **HX)
    assert not Annotation.objects.exists() and not SuggestionDecision.objects.exists()
    bad = client.post(f"/articles/{team.article.pk}/suggestions/accept", {"threshold": "2"}, **HX)
    assert bad.status_code == 400


def test_outsider_gets_404(client, team, made):
    client.force_login(team.outsider)
    for url in (
        f"/suggestions/{made[0].pk}/accept",
        f"/suggestions/{made[0].pk}/reject",
        f"/suggestions/{made[0].pk}/undo",
        f"/articles/{team.article.pk}/suggestions/accept",
    ):
        assert client.post(url, {"threshold": "0.5"}).status_code == 404


def test_blind_annotator_sees_her_decisions_only(client, team, made):
    team.corpus.blind = True
    team.corpus.save()
    client.force_login(team.annotator2)
    client.post(f"/suggestions/{made[0].pk}/accept")
    client.force_login(team.annotator)
    html = _page(client, team).content.decode()
    assert "arjun" not in html.split('id="suggestions"')[1]
    assert "3 to decide" in html


def _suggest_words(team, first: int, last: int) -> None:
    _, curator = selectors.corpus_with_access(team.curator, team.corpus.slug)
    items, position = [], 0
    for index, word in enumerate(SAMPLE_TEXT.split(" ")):
        if first <= index < last:
            items.append({"start": position, "end": position + len(word), "stance": "support"})
        position += len(word) + 1
    made = services.suggestions_create(
        access=curator, article=team.article, model=f"m@{first}", suggestions=items
    )
    for suggestion in made:
        SuggestionDecision.objects.create(
            suggestion=suggestion, decided_by=team.annotator2, state="rejected"
        )


def test_the_panel_runs_a_fixed_number_of_queries(client, team):
    """The page with 3 suggestions and with 15 (of two models, each decided) runs the same
    number of queries."""
    client.force_login(team.curator)
    _suggest_words(team, 0, 3)
    with CaptureQueriesContext(connection) as few:
        assert _page(client, team).status_code == 200
    _suggest_words(team, 3, 15)
    with CaptureQueriesContext(connection) as many:
        html = _page(client, team).content.decode()
    assert html.count('class="sg-item sg-') == 15
    assert len(many.captured_queries) == len(few.captured_queries)


def test_metrics_page_and_csv_for_curators(client, team, made):
    client.force_login(team.curator)
    page = client.get(f"/corpora/{team.corpus.slug}/suggestions/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@1" in html and "<script>alert(1)" not in html
    assert "<svg" in html
    csv_response = client.get(f"/corpora/{team.corpus.slug}/suggestions/", {"format": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")
    lines = csv_response.content.decode().splitlines()
    assert lines[0].startswith("model,articles,open,accepted,rejected,suggestions,gold")
    assert lines[1].startswith(f"{HOSTILE_MODEL},1,3,0,0,3,0")
    client.force_login(team.annotator)
    assert client.get(f"/corpora/{team.corpus.slug}/suggestions/").status_code == 403
    client.force_login(team.outsider)
    assert client.get(f"/corpora/{team.corpus.slug}/suggestions/").status_code == 404
