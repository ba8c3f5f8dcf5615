"""The annotation page's forms, its one error mapping and its one HTML helper
(articles/views/annotate/forms.py, writes.py, markup.py): a mistake is worded as the API and
the import word it, every write answers 400/409/412 the same way, and every value put into the
HTML built in Python is escaped."""

import pytest
from django.urls import reverse

from articles.models import Annotation, Claim, Evidence, Relation, Stance
from articles.views.annotate.claim_list import ClaimRow, render_claim_items
from articles.views.annotate.markup import Html, fill, join
from tests.factories import AnnotationFactory, ClaimFactory, RelationFactory

HX = {"HTTP_HX_REQUEST": "true"}
XSS = "<img src=x onerror=alert(1)>\"'&"


@pytest.fixture
def claim(team):
    return ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)


# --- The HTML helper ----------------------------------------------------------------------------


def test_fill_escapes_every_text_value_in_text_and_in_attributes_and_keeps_markup_and_ints():
    html = fill('<a title="%(title)s" data-n="%(n)s">%(text)s%(inner)s</a>', title=XSS, n=7,
                text=XSS, inner=fill("<b>%(x)s</b>", x="<i>"))  # fmt: skip
    assert html == (
        '<a title="&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;&amp;" data-n="7">'
        "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;&amp;<b>&lt;i&gt;</b></a>"
    )
    assert isinstance(html, Html)
    assert join([fill("<br>"), fill("%(t)s", t="<")]) == "<br>&lt;"


def _row(**fields) -> ClaimRow:
    values = dict(id=3, number=1, start=0, end=5, excerpt="plain", mine="", n_visible=0,
                  n_others=0, colour="none", decision="", gold="", disagreement=False,
                  is_mine=True)  # fmt: skip
    return ClaimRow(**(values | fields))


def test_list_items_escape_the_excerpt_and_keep_the_filter_in_an_escaped_link():
    html = render_claim_items(
        [_row(excerpt=XSS, mine="oppose", n_others=2, disagreement=True)],
        filter_name="mine",
        can_annotate=True,
        selected=3,
    )
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;&amp;</span>" in html
    assert 'href="?filter=mine&amp;claim=3#panel" aria-current="true">' in html
    assert '<span class="tag tag-oppose">You: oppose</span>' in html
    assert '<span class="tag tag-mixed">Disputed</span><span class="tag">+2 others</span>' in html


# --- The evidence forms: no type suggested -------------------------------------------------------


def _selected(body: str, select_id: str) -> list[str]:
    """The values of the options marked selected in the <select> with this id."""
    start = body.index(f'id="{select_id}"')
    options = body[start : body.index("</select>", start)]
    return [
        chunk.split('"', 1)[0]
        for chunk in options.split('<option value="')[1:]
        if chunk.split(">", 1)[0].endswith(" selected")
    ]


def test_the_evidence_forms_preselect_no_type_and_keep_a_pick_after_a_mistake(client, team, claim):
    AnnotationFactory(claim=claim, annotator=team.annotator)
    client.force_login(team.annotator)
    panel = client.get(reverse("claim-panel", args=[claim.pk]), **HX).content.decode()
    for select in ("evidence-type", "source-type"):
        assert _selected(panel, select) == [""]  # an explicit empty choice, not "Study"
    for select in ("evidence-role", "source-role"):
        assert _selected(panel, select) == ["supports"]

    refused = client.post(
        reverse("evidence-add", args=[claim.pk]),
        {"kind": "source", "url": "ftp://x", "evidence_type": "statistic", "role": "undermines",
         "version": 1},
        **HX,
    )  # fmt: skip
    assert refused.status_code == 400
    body = refused.content.decode()
    assert _selected(body, "source-type") == ["statistic"]
    assert _selected(body, "source-role") == ["undermines"]
    assert _selected(body, "evidence-type") == [""]  # the other form is left as it was
    assert 'value="ftp://x"' in body

    # Without a type chosen, the evidence is "other".
    client.post(
        reverse("evidence-add", args=[claim.pk]),
        {"kind": "source", "title": "A report", "version": 1},
    )
    assert Evidence.objects.get().evidence_type == "other"


# --- Forms word mistakes as the validators (and the API) do ----------------------------------


def test_a_confidence_out_of_range_is_worded_as_the_api_words_it(client, team, claim):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(team.annotator)
    answer = api.post(
        f"/api/v1/claims/{claim.pk}/annotations", {"stance": "support", "confidence": 9}
    )
    (message,) = answer.json()["errors"]["confidence"]
    assert message == "confidence must be from 1 to 5; got 9."

    client.force_login(team.annotator)
    page = client.post(
        reverse("annotation-save", args=[claim.pk]), {"stance": "support", "confidence": "9"}, **HX
    )
    assert page.status_code == 400
    assert f"<li>{message}</li>" in page.content.decode()
    assert not Annotation.objects.exists()


def test_a_summary_too_long_is_worded_as_the_api_words_it(client, team):
    client.force_login(team.annotator)
    response = client.post(
        reverse("claim-create", args=[team.article.pk]),
        {"start": 0, "end": 40, "summary": "x" * 2001},
        **HX,
    )
    assert response.status_code == 400
    assert "<li>summary is 2001 characters; at most 2000.</li>" in response.content.decode()
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    ("url_name", "data", "message"),
    [
        ("claim-edit", {"summary": "x", "version": "one"}, "version must be a whole number."),
        ("annotation-save", {"stance": "maybe"}, "stance must be one of support, oppose, neutral"),
        ("annotation-save", {"stance": "support", "confidence": "high"}, "whole number from 1"),
        ("evidence-add", {"kind": "rumour", "version": 1}, "kind must be one of span, source"),
        ("evidence-add", {"kind": "span", "exact": "nowhere", "version": 1}, "was not found"),
        ("evidence-add", {"kind": "source", "evidence_type": "hearsay", "version": 1},
         "evidence_type must be one of"),
        ("relation-create", {"target": "2", "kind": "likes"}, "kind must be one of supports"),
        ("relation-create", {"target": "2", "kind": "attacks", "direction": "up"},
         "direction must be one of out, in"),
        ("comment-create", {"text": "x" * 10_001}, "text is 10001 characters; at most 10000."),
    ],
)  # fmt: skip
def test_each_form_refuses_a_bad_field_with_the_validators_message_and_writes_nothing(
    client, team, claim, url_name, data, message
):
    AnnotationFactory(claim=claim, annotator=team.annotator, stance=Stance.SUPPORT)
    ClaimFactory(article=team.article, start=42, end=85)
    before = (Claim.objects.get(pk=claim.pk).version, Annotation.objects.get().version)
    client.force_login(team.annotator)
    response = client.post(reverse(url_name, args=[claim.pk]), data, **HX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert f'data-claim-id="{claim.pk}"' in response.content.decode()  # the same panel
    assert (Claim.objects.get(pk=claim.pk).version, Annotation.objects.get().version) == before
    assert not Evidence.objects.exists() and not Relation.objects.exists()


# --- Versions: a form never overwrites what it did not see -----------------------------------


def test_a_summary_sent_without_its_version_does_not_overwrite(client, team, claim):
    client.force_login(team.annotator)
    response = client.post(reverse("claim-edit", args=[claim.pk]), {"summary": "Mine"}, **HX)
    assert response.status_code == 412
    assert "Someone changed the claim&#x27;s summary meanwhile" in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).summary == ""


def test_saving_a_tag_deleted_meanwhile_shows_the_conflict_and_keep_mine_recreates_it(
    client, team, claim
):
    client.force_login(team.annotator)
    url = reverse("annotation-save", args=[claim.pk])
    gone = client.post(url, {"stance": "oppose", "note": "typed", "version": "3"}, **HX)
    assert gone.status_code == 412
    body = gone.content.decode()
    assert "Someone changed your tag on this claim meanwhile" in body
    assert "<dd>typed</dd>" in body
    assert 'name="version" value=""' in body  # resending creates the tag anew
    assert not Annotation.objects.exists()
    assert client.post(url, {"stance": "oppose", "note": "typed", "version": ""}).status_code == 302
    assert Annotation.objects.get().note == "typed"


# --- Navigation values ----------------------------------------------------------------------------


def test_a_write_goes_back_to_the_list_filter_it_came_from_and_ignores_an_unknown_one(
    client, team, claim
):
    client.force_login(team.annotator)
    url = reverse("comment-create", args=[claim.pk])
    back = client.post(url, {"text": "One", "filter": "untagged"})
    assert back.headers["Location"].endswith(f"?filter=untagged&claim={claim.pk}#panel")
    unknown = client.post(url, {"text": "Two", "filter": "<script>"})
    assert unknown.headers["Location"].endswith(
        f"/articles/{team.article.pk}/?claim={claim.pk}#panel"
    )


def test_removing_a_link_with_a_bad_back_claim_goes_back_to_its_source(client, team, claim):
    other = ClaimFactory(article=team.article, start=42, end=85)
    relation = RelationFactory(source_claim=claim, target_claim=other, created_by=team.annotator)
    client.force_login(team.annotator)
    response = client.post(reverse("relation-delete", args=[relation.pk]), {"claim": "x9"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"?claim={claim.pk}#panel")
    assert not Relation.objects.exists()
