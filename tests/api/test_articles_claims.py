"""Articles, claims and submitting work through the API."""

import pytest

from articles.models import Annotation, Article, Assignment, Claim
from tests.factories import (
    SAMPLE_TEXT,
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    ReviewFactory,
)

from .conftest import errors_of

pytestmark = pytest.mark.django_db

FIRST = "Restricting chip exports is shortsighted"


# --- articles --------------------------------------------------------------------------------


def test_article_list_omits_text_and_has_counts(team, client_for):
    ClaimFactory(article=team.article)
    response = client_for(team.viewer).get("/api/v1/corpora/chips/articles")
    assert response.status_code == 200
    [article] = response.json()["results"]
    assert "text" not in article
    assert article["id"] == str(team.article.pk)
    assert article["corpus"] == "chips"
    assert article["counts"]["claims"] == 1
    assert article["my_state"] is None


def test_article_list_filters(team, client_for):
    other = ArticleFactory(corpus=team.corpus, title="Tariffs again", language="de")
    AssignmentFactory(article=other, annotator=team.annotator, state="submitted")
    client = client_for(team.curator)

    def ids(query):
        response = client.get("/api/v1/corpora/chips/articles" + query)
        assert response.status_code == 200, response.json()
        return [a["id"] for a in response.json()["results"]]

    assert ids("?title=tariffs") == [str(other.pk)]
    assert ids("?language=de") == [str(other.pk)]
    assert ids("?annotator=anna") == [str(other.pk)]
    assert ids("?annotator=anna&state=submitted") == [str(other.pk)]
    assert ids("?annotator=arjun&state=submitted") == []
    assert ids("?updated_since=2000-01-01") == [str(team.article.pk), str(other.pk)]
    assert ids("?updated_since=2999-01-01T00:00:00Z") == []
    assert ids("?no_such_filter=1&ordering=-title") == [str(team.article.pk), str(other.pk)]
    bad = client.get("/api/v1/corpora/chips/articles?updated_since=yesterday&state=lost")
    assert bad.status_code == 400
    assert set(errors_of(bad)) == {"updated_since", "state"}


def test_owner_creates_reads_updates_and_deletes_an_article(team, client_for):
    owner = client_for(team.owner)
    created = owner.post(
        "/api/v1/corpora/chips/articles",
        {
            "title": "New op-ed",
            "text": "Line one.\r\nCafe\u0301 two.",
            "published_on": "2025-02-01",
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["text"] == "Line one.\nCafé two."  # normalised: \n newlines, NFC
    assert body["published_on"] == "2025-02-01"
    url = f"/api/v1/articles/{body['id']}"
    assert created["Location"] == url

    got = owner.get(url)
    assert got.status_code == 200
    assert got["ETag"] == '"1"'
    assert got.json()["my_role"] == "owner"

    patched = owner.patch(url, {"title": "Renamed"}, HTTP_IF_MATCH='W/"1"')
    assert patched.status_code == 200
    assert patched.json()["title"] == "Renamed"
    assert patched["ETag"] == '"2"'

    assert owner.delete(url, HTTP_IF_MATCH='"1"').status_code == 412
    assert owner.delete(url, HTTP_IF_MATCH='"2"').status_code == 204
    assert Article.objects.in_trash().filter(pk=body["id"]).exists()
    assert owner.get(url).status_code == 404


def test_article_text_cannot_change_under_claims(team, client_for):
    ClaimFactory(article=team.article)
    response = client_for(team.owner).patch(
        f"/api/v1/articles/{team.article.pk}", {"text": "Something else entirely.", "version": 1}
    )
    assert response.status_code == 400
    assert "text" in errors_of(response)


def test_article_too_long_is_413(team, client_for, settings):
    settings.ARTICLE_MAX_CHARS = 50
    response = client_for(team.owner).post(
        "/api/v1/corpora/chips/articles", {"title": "Long", "text": "x" * 51}
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_article_permissions(team, client_for):
    url = f"/api/v1/articles/{team.article.pk}"
    for user in (team.viewer, team.annotator, team.curator):
        client = client_for(user)
        assert client.get(url).status_code == 200
        create = client.post("/api/v1/corpora/chips/articles", {"title": "T", "text": "Some."})
        assert create.status_code == 403
        assert client.patch(url, {"title": "Mine"}).status_code == 403
        assert client.delete(url).status_code == 403
    oscar = client_for(team.outsider)
    for method in ("get", "patch", "delete"):
        assert getattr(oscar, method)(url).status_code == 404
    assert oscar.get(f"/api/v1/articles/{team.article.pk}/claims").status_code == 404
    assert oscar.post(f"/api/v1/articles/{team.article.pk}/submit").status_code == 404
    team.article.refresh_from_db()
    assert team.article.title == "Chips and policy"
    assert team.article.deleted_at is None


def test_unknown_and_malformed_ids_are_404(team, client_for):
    client = client_for(team.owner)
    for article_id in ("999999", "abc", "0", "-1", "1e3", str(10**30), "%00"):
        assert client.get(f"/api/v1/articles/{article_id}").status_code == 404, article_id


# --- claims ----------------------------------------------------------------------------------


def test_claim_by_offsets_and_by_quote(team, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    by_offsets = anna.post(url, {"start": 0, "end": 40, "summary": "Export curbs are unwise"})
    assert by_offsets.status_code == 201, by_offsets.json()
    claim = by_offsets.json()
    assert claim["exact"] == FIRST
    assert claim["article"] == str(team.article.pk)
    assert claim["created_by"] == "anna"
    assert claim["version"] == 1
    assert claim["review"] is None
    assert set(claim) == {
        "id",
        "article",
        "start",
        "end",
        "exact",
        "prefix",
        "suffix",
        "summary",
        "labels",
        "created_by",
        "created_at",
        "updated_at",
        "version",
        "anchor",
        "review",
    }
    by_quote = anna.post(url, {"exact": "low-end chips"})
    assert by_quote.status_code == 201
    start = SAMPLE_TEXT.index("low-end chips")
    assert (by_quote.json()["start"], by_quote.json()["end"]) == (start, start + 13)
    listed = anna.get(url).json()["results"]
    assert [c["start"] for c in listed] == [0, start]


def test_claim_span_errors_name_the_field(team, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    cases = [
        ({"start": 0, "end": 10**6}, "end"),
        ({"start": 10**30, "end": 10**30 + 1}, "start"),
        ({"start": -1, "end": 4}, "start"),
        ({"start": 5, "end": 5}, "end"),
        ({"start": 9, "end": 3}, "end"),
        ({"start": 0, "end": 40, "exact": "Something else"}, "exact"),
        ({"exact": "not in the text at all"}, "exact"),
        ({"exact": "the"}, "exact"),  # several matches
        ({"start": 0}, "end"),
        ({}, "exact"),
        ({"start": "zero", "end": 4}, "start"),
        ({"start": 1.5, "end": 4}, "start"),
        ({"start": True, "end": 4}, "start"),
    ]
    for payload, field in cases:
        response = anna.post(url, payload)
        assert response.status_code == 400, (payload, response.json())
        assert field in errors_of(response), (payload, response.json())
    ambiguous = anna.post(url, {"exact": "the"}).json()
    assert "ambiguous" in ambiguous["errors"]["exact"][0]
    assert not Claim.objects.exists()


def test_claim_detail_patch_delete(team, client_for):
    claim = ClaimFactory(article=team.article, created_by=team.annotator)
    url = f"/api/v1/claims/{claim.pk}"
    anna = client_for(team.annotator)
    got = anna.get(url)
    assert got.status_code == 200
    assert got["ETag"] == '"1"'
    patched = anna.patch(url, {"summary": "Curbs are unwise", "version": 1})
    assert patched.status_code == 200
    assert patched.json()["summary"] == "Curbs are unwise"
    stale = anna.patch(url, {"summary": "Again", "version": 1})
    assert stale.status_code == 412
    assert stale.json()["current"]["summary"] == "Curbs are unwise"
    unversioned = anna.patch(url, {"summary": "Blind write"})
    assert unversioned.status_code == 428
    assert Claim.objects.get(pk=claim.pk).summary == "Curbs are unwise"
    # A placed claim's span never changes (only an orphan is placed again): refused, unchanged.
    moved = anna.patch(url, {"start": 3, "version": 2})
    assert moved.status_code == 400 and "start" in moved.json()["errors"]
    assert anna.get(url).json()["start"] == 0
    assert anna.delete(url).status_code == 204
    assert Claim.objects.in_trash().filter(pk=claim.pk).exists()
    assert anna.get(url).status_code == 404


def test_claim_permissions(team, client_for):
    claim = ClaimFactory(article=team.article, created_by=team.annotator)
    url = f"/api/v1/claims/{claim.pk}"
    viewer = client_for(team.viewer)
    create = viewer.post(f"/api/v1/articles/{team.article.pk}/claims", {"start": 0, "end": 4})
    assert create.status_code == 403
    assert viewer.patch(url, {"summary": "x"}).status_code == 403
    assert viewer.delete(url).status_code == 403
    arjun = client_for(team.annotator2)
    assert arjun.patch(url, {"summary": "x"}).status_code == 403
    assert arjun.delete(url).status_code == 403
    curator = client_for(team.curator)
    assert curator.patch(url, {"labels": []}, HTTP_IF_MATCH="*").status_code == 200
    oscar = client_for(team.outsider)
    for method in ("get", "patch", "delete"):
        assert getattr(oscar, method)(url).status_code == 404
    assert Claim.objects.alive().filter(pk=claim.pk).exists()


def test_claim_filters_respect_blind_mode(team, client_for):
    team.corpus.blind = True
    team.corpus.save()
    first = ClaimFactory(article=team.article)
    second = ClaimFactory(article=team.article, start=42, end=85)
    AnnotationFactory(claim=first, annotator=team.annotator2, stance="oppose")
    AnnotationFactory(claim=second, annotator=team.annotator, stance="support")
    url = f"/api/v1/articles/{team.article.pk}/claims"

    def ids(client, query):
        response = client.get(url + query)
        assert response.status_code == 200, response.json()
        return [c["id"] for c in response.json()["results"]]

    anna, curator = client_for(team.annotator), client_for(team.curator)
    assert ids(curator, "?annotator=arjun") == [str(first.pk)]
    assert ids(curator, "?stance=oppose") == [str(first.pk)]
    assert ids(curator, "?annotator=anna&stance=oppose") == []
    # Before submitting, anna cannot learn where arjun tagged, not even through a filter.
    assert ids(anna, "?annotator=arjun") == []
    assert ids(anna, "?stance=support") == [str(second.pk)]
    assert ids(anna, "") == [str(first.pk), str(second.pk)]
    bad = anna.get(url + "?topic=abc&stance=maybe")
    assert bad.status_code == 400
    assert set(errors_of(bad)) == {"topic", "stance"}


def test_review_summary_hidden_from_annotators_until_they_submit(team, client_for):
    claim = ClaimFactory(article=team.article)
    ReviewFactory(claim=claim, curator=team.curator, topic=team.topic, stance="oppose")
    url = f"/api/v1/articles/{team.article.pk}/claims"
    curator_view = client_for(team.curator).get(url).json()["results"][0]["review"]
    assert curator_view["decision"] == "accepted"
    assert curator_view["stance"] == "oppose"
    assert curator_view["curator"] == "carmen"
    anna = client_for(team.annotator)
    assert anna.get(url).json()["results"][0]["review"] is None
    assert anna.get(f"/api/v1/claims/{claim.pk}").json()["review"] is None
    assert anna.get(f"/api/v1/claims/{claim.pk}/review").status_code == 404
    # Nor do the filters and counts give the decision away before she submits.
    assert anna.get(url + "?reviewed=true").json()["results"] == []
    assert anna.get(url + "?decision=accepted").json()["results"] == []
    assert [c["id"] for c in anna.get(url + "?reviewed=false").json()["results"]] == [str(claim.pk)]
    [listed] = anna.get("/api/v1/corpora/chips/articles").json()["results"]
    assert listed["counts"]["reviewed"] == 0
    [corpus] = anna.get("/api/v1/corpora").json()["results"]
    assert corpus["counts"]["reviewed"] == 0
    assert anna.get("/api/v1/corpora/chips").json()["counts"]["reviewed"] == 0
    assert anna.post(f"/api/v1/articles/{team.article.pk}/submit").status_code == 200
    [listed] = anna.get("/api/v1/corpora/chips/articles").json()["results"]
    assert listed["counts"]["reviewed"] == 1
    assert anna.get("/api/v1/corpora/chips").json()["counts"]["reviewed"] == 1
    assert anna.get(url).json()["results"][0]["review"]["stance"] == "oppose"
    reviewed = anna.get(url + "?reviewed=true&decision=accepted").json()["results"]
    assert [c["id"] for c in reviewed] == [str(claim.pk)]
    assert anna.get(url + "?reviewed=false").json()["results"] == []


# --- submit ----------------------------------------------------------------------------------


def test_submit_marks_my_annotations_submitted(team, client_for):
    claim = ClaimFactory(article=team.article)
    mine = AnnotationFactory(claim=claim, annotator=team.annotator)
    theirs = AnnotationFactory(claim=claim, annotator=team.annotator2)
    response = client_for(team.annotator).post(f"/api/v1/articles/{team.article.pk}/submit/")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "submitted"
    assert body["annotator"] == "anna"
    assert body["article_title"] == "Chips and policy"
    assert Annotation.objects.get(pk=mine.pk).status == "submitted"
    assert Annotation.objects.get(pk=theirs.pk).status == "draft"
    assert (
        Assignment.objects.get(article=team.article, annotator=team.annotator).state == "submitted"
    )
    assert (
        client_for(team.viewer).post(f"/api/v1/articles/{team.article.pk}/submit").status_code
        == 403
    )
