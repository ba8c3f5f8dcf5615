"""Whole documents: many claims (with the caller's annotations) in one request, all or nothing,
and one article with its claims and their visible annotations in one read."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Annotation, AuditEvent, Claim, Evidence
from tests.api.conftest import errors_of
from tests.factories import (
    AnnotationFactory,
    AssignmentFactory,
    ClaimFactory,
    EvidenceFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


def _url(team):
    return f"/api/v1/articles/{team.article.pk}/claims"


def _items(n, *, annotated=True, evidence=False):
    items = []
    for i in range(n):
        item = {"start": i, "end": i + 5, "summary": f"claim {i}"}
        if annotated:
            item["annotation"] = {"stance": "support", "note": f"note {i}"}
            if evidence:
                item["annotation"]["evidence"] = [{"start": i + 1, "end": i + 3}]
        items.append(item)
    return items


def test_a_list_creates_every_claim_with_its_annotation_in_order(team, client_for):
    response = client_for(team.annotator).post(_url(team), _items(3, evidence=True), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [c["start"] for c in body] == [0, 1, 2]
    assert all(c["created"] for c in body)
    assert [c["annotation"]["note"] for c in body] == ["note 0", "note 1", "note 2"]
    assert body[1]["annotation"]["evidence"][0]["start"] == 2
    assert body[0]["annotation"]["topic"]["id"] == str(team.topic.pk)
    assert Claim.objects.filter(article=team.article).count() == 3
    assert Annotation.objects.filter(annotator=team.annotator).count() == 3
    assert Evidence.objects.count() == 3
    verbs = sorted(AuditEvent.objects.values_list("verb", flat=True))
    assert verbs == ["annotation.create"] * 3 + ["claim.create"] * 3
    text = team.article.text
    assert all(c["exact"] == text[c["start"] : c["end"]] for c in body)


def test_items_without_annotation_and_by_quote(team, client_for):
    text = team.article.text
    items = [{"exact": text[10:30]}, {"start": 0, "end": 4}]
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body[0]["start"], body[0]["end"]) == (10, 30)
    assert body[0]["annotation"] is None and body[1]["annotation"] is None
    assert not Annotation.objects.exists()


def test_one_bad_item_writes_nothing_and_names_each_bad_item_by_index(team, client_for):
    items = _items(4)
    items[1]["end"] = 10**6  # beyond the text
    items[2]["annotation"]["topic"] = "no such topic"
    items[3]["annotation"]["evidence"] = [{"start": 0, "end": 10**6}]
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 400, response.content
    errors = errors_of(response)
    assert set(errors) == {"1.end", "2.annotation.topic", "3.annotation.evidence"}, errors
    assert "topic" in errors["2.annotation.topic"][0]
    # Malformed items (wrong types, unknown choices) are named before the spans are checked.
    items[0]["annotation"]["stance"] = "maybe"
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert set(errors_of(response)) >= {"0.annotation.stance"}
    assert not Claim.objects.exists()
    assert not Annotation.objects.exists()
    assert not AuditEvent.objects.exists()


def test_service_errors_are_keyed_by_index_too(team, client_for):
    items = _items(2)
    items[1]["exact"] = "words that are not there"
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 400
    assert all(key.startswith("1.") for key in errors_of(response)), errors_of(response)
    assert not Claim.objects.exists()


def test_a_span_equal_to_a_live_claims_reuses_it(team, client_for):
    theirs = ClaimFactory(article=team.article, start=0, end=5, created_by=team.annotator2)
    AnnotationFactory(claim=theirs, annotator=team.annotator2, topic=team.topic)
    items = _items(2)
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body[0]["id"] == str(theirs.pk) and body[0]["created"] is False
    assert body[1]["created"] is True
    assert Claim.objects.filter(article=team.article).count() == 2
    assert Annotation.objects.filter(claim=theirs).count() == 2
    assert AuditEvent.objects.filter(verb="claim.create").count() == 1


def test_the_same_span_twice_in_a_list_is_one_claim(team, client_for):
    items = [{"start": 0, "end": 5, "annotation": {"stance": "support"}}, {"start": 0, "end": 5}]
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body[0]["id"] == body[1]["id"]
    assert Claim.objects.count() == 1


def test_annotating_a_claim_one_has_annotated_already_is_a_400_for_that_item(team, client_for):
    mine = ClaimFactory(article=team.article, start=0, end=5)
    AnnotationFactory(claim=mine, annotator=team.annotator, topic=team.topic)
    twice = [{"start": 2, "end": 6, "annotation": {"stance": "support"}}] * 2
    for items, bad in [(_items(2), "0.annotation"), (twice, "1.annotation")]:
        response = client_for(team.annotator).post(_url(team), items, format="json")
        assert response.status_code == 400, response.content
        assert set(errors_of(response)) == {bad}
    assert Claim.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [([], "claims"), ([{"start": 0, "end": 5}] * 1001, "claims"), (["x"], "0")],
)
def test_malformed_lists_are_400(team, client_for, body, field):
    response = client_for(team.annotator).post(_url(team), body, format="json")
    assert response.status_code == 400
    assert field in errors_of(response)


def test_viewers_may_not_and_non_members_do_not_find_the_article(team, client_for):
    assert client_for(team.viewer).post(_url(team), _items(1), format="json").status_code == 403
    assert client_for(team.outsider).post(_url(team), _items(1), format="json").status_code == 404
    assert not Claim.objects.exists()


def test_a_submitted_annotators_new_annotations_are_submitted(team, client_for):
    AssignmentFactory(article=team.article, annotator=team.annotator, state="submitted")
    response = client_for(team.annotator).post(_url(team), _items(1), format="json")
    assert response.status_code == 201
    assert response.json()[0]["annotation"]["status"] == "submitted"


def _count(client, url, body):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, body, format="json")
    assert response.status_code == 201, response.content
    return len(queries)


@pytest.mark.parametrize("evidence", [False, True], ids=["plain", "with-evidence"])
def test_a_bulk_write_runs_the_same_queries_for_1_and_for_50_items(team, client_for, evidence):
    client = client_for(team.annotator)
    one = _count(client, _url(team), _items(1, evidence=evidence))
    Claim.objects.all().delete()
    fifty = _count(client, _url(team), _items(50, evidence=evidence))
    # article+role, topics, (lock the article and) submitted?, live claims at those spans and
    # which the caller tagged, claims, annotations, (evidence,) audit; one savepoint opened and
    # released (the transaction; no inner savepoint).
    expected = 10 if evidence else 9
    assert (one, fifty) == (expected, expected)


def test_reusing_claims_adds_one_query_whatever_their_number(team, client_for):
    client = client_for(team.annotator)
    ClaimFactory(article=team.article, start=0, end=5)
    one = _count(client, _url(team), _items(2))  # one reused, one new
    Annotation.objects.all().delete()
    Claim.objects.exclude(start=0).delete()
    for i in range(1, 49):
        ClaimFactory(article=team.article, start=i, end=i + 5)
    fifty = _count(client, _url(team), _items(50))
    assert one == fifty == 10  # the reused claims, with their creator and review


# --- GET /articles/{id}?include=claims ---------------------------------------------------------


def _document(client, team, **params):
    return client.get(f"/api/v1/articles/{team.article.pk}", {"include": "claims", **params})


def test_an_article_with_its_claims_and_their_annotations(team, client_for):
    claim = ClaimFactory(article=team.article, start=3, end=9)
    first = ClaimFactory(article=team.article, start=0, end=2)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
    client = client_for(team.curator)
    response = _document(client, team)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["text"] == team.article.text and body["id"] == str(team.article.pk)
    assert response["ETag"] == f'"{team.article.version}"'
    assert [c["id"] for c in body["claims"]] == [str(first.pk), str(claim.pk)]
    assert [a["annotator"] for a in body["claims"][1]["annotations"]] == ["anna", "arjun"]
    listed = client.get(f"/api/v1/articles/{team.article.pk}/claims").json()["results"]
    for included, alone in zip(body["claims"], listed, strict=True):
        assert {k: v for k, v in included.items() if k != "annotations"} == alone
    assert "claims" not in client.get(f"/api/v1/articles/{team.article.pk}").json()


def test_blind_mode_hides_the_others_annotations_in_the_document(team, client_for):
    team.corpus.blind = True
    team.corpus.save()
    claim = ClaimFactory(article=team.article)
    AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
    ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
    body = _document(client_for(team.annotator), team).json()
    assert body["claims"][0]["annotations"] == []
    assert body["claims"][0]["review"] is None
    AssignmentFactory(article=team.article, annotator=team.annotator, state="submitted")
    body = _document(client_for(team.annotator), team).json()
    assert [a["annotator"] for a in body["claims"][0]["annotations"]] == ["arjun"]
    assert body["claims"][0]["review"] is not None


def test_an_unknown_include_is_a_400_and_outsiders_get_404(team, client_for):
    response = _document(client_for(team.annotator), team, include="everything")
    assert response.status_code == 400 and "include" in errors_of(response)
    assert _document(client_for(team.outsider), team).status_code == 404


@pytest.mark.parametrize("role", ["annotator", "curator"])
def test_the_document_read_runs_the_same_queries_for_2_and_for_40_claims(team, client_for, role):
    team.corpus.blind = True
    team.corpus.save()
    client = client_for(getattr(team, role))

    def seed(start, n):
        for i in range(start, start + n):
            claim = ClaimFactory(article=team.article, start=i, end=i + 4)
            annotation = AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
            AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
            EvidenceFactory(annotation=annotation)
            ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)

    counts = []
    for start, n in [(0, 2), (2, 38)]:
        seed(start, n)
        with CaptureQueriesContext(connection) as queries:
            response = _document(client, team)
        assert response.status_code == 200
        assert len(response.json()["claims"]) == start + n
        counts.append(len(queries))
    # a curator: article+role, then the claims joined to their annotations and evidence; an
    # annotator of a blind corpus who has not submitted: article+role, whether they submitted
    # it, the claims, the annotations they may see (their own) with their evidence
    expected = 4 if role == "annotator" else 2
    assert counts == [expected, expected]
