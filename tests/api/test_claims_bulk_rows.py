"""The list form of POST /articles/{id}/claims writes plain rows and answers them without model
instances: the answer must be byte for byte what the serializers give for the rows read back,
the input parser must agree with the serializer on every item it accepts, and the rows and
audit events must be those the one-claim services write."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from articles import services
from articles.api import documents
from articles.models import Annotation, AuditEvent, Claim, Evidence
from articles.services import ANNOTATION_FIELDS, CLAIM_FIELDS, claims_bulk
from articles.services.base import _snapshot
from tests.factories import AnnotationFactory, ClaimFactory, ReviewFactory, TopicFactory

pytestmark = pytest.mark.django_db


def _url(team):
    return f"/api/v1/articles/{team.article.pk}/claims"


def _expected(body, *, reviews_visible):
    """What ClaimCreatedSerializer gives for the claims and annotations of `body`, read back."""
    annotations = (
        Annotation.objects.select_related("annotator", "topic")
        .prefetch_related("evidence")
        .in_bulk([int(item["annotation"]["id"]) for item in body if item["annotation"]])
    )
    claims = Claim.objects.select_related("created_by", "review__curator", "review__topic")
    shown = []
    for item in body:
        # An item repeating a span shares its claim: each gets its own object for its own flags.
        claim = claims.get(pk=item["id"])
        claim.bulk_created = item["created"]
        given = item["annotation"]
        claim.bulk_annotation = annotations[int(given["id"])] if given else None
        shown.append(claim)
    serializer = documents.ClaimCreatedSerializer(
        shown, many=True, context={"reviews_visible": reviews_visible}
    )
    return JSONRenderer().render(serializer.data)


def _mixed_items(team, text):
    return [
        {"start": 0, "end": 5, "annotation": {"stance": "support", "note": "n ✓", "confidence": 3}},
        {
            "exact": text[10:30],
            "summary": "  a summary  ",
            "annotation": {
                "stance": "oppose",
                "topic": str(team.topic2.pk),
                "labels": ["x"],
                "evidence": [
                    {"start": 11, "end": 15},
                    {"url": "https://example.org/a", "title": "A source", "quote": "q"},
                ],
            },
        },
        {"start": 40, "end": 52},  # no annotation
        {"start": 0, "end": 5},  # the same span again: the same claim
        {"start": 60, "end": 70, "annotation": {"stance": "neutral", "topic": "Second topic"}},
    ]


@pytest.mark.parametrize("role", ["curator", "annotator"])
def test_the_answer_is_byte_for_byte_the_serializers(team, client_for, role):
    team.topic2 = TopicFactory(corpus=team.corpus, label="Second topic", position=5)
    team.corpus.claim_labels = ["x", "y"]
    team.corpus.blind = True
    team.corpus.save()
    text = team.article.text
    # A live claim at one of the spans, reviewed: reused, its review shown only to whom may see.
    theirs = ClaimFactory(article=team.article, start=60, end=70, created_by=team.annotator2)
    ReviewFactory(claim=theirs, curator=team.curator, topic=team.topic)
    AnnotationFactory(claim=theirs, annotator=team.annotator2, topic=team.topic)
    response = client_for(getattr(team, role)).post(
        _url(team), _mixed_items(team, text), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [item["created"] for item in body] == [True, True, True, False, False]
    assert body[4]["id"] == str(theirs.pk)
    assert (body[4]["review"] is not None) == (role == "curator")
    assert response.content == _expected(body, reviews_visible=role == "curator")


def test_a_submitted_annotators_answer_is_the_serializers_too(team, client_for):
    from tests.factories import AssignmentFactory

    team.topic2 = TopicFactory(corpus=team.corpus, label="Second topic", position=5)
    team.corpus.claim_labels = ["x"]
    team.corpus.save()
    AssignmentFactory(article=team.article, annotator=team.annotator, state="submitted")
    response = client_for(team.annotator).post(
        _url(team), _mixed_items(team, team.article.text), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body[0]["annotation"]["status"] == "submitted"
    assert response.content == _expected(body, reviews_visible=True)


def test_rows_and_audit_are_those_of_the_one_claim_services(team, client_for):
    team.topic2 = TopicFactory(corpus=team.corpus, label="Second topic", position=5)
    team.corpus.claim_labels = ["x"]
    team.corpus.save()
    items = _mixed_items(team, team.article.text)
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 201, response.content
    claims = list(Claim.objects.order_by("id"))
    for claim in claims:
        assert claim.exact == team.article.text[claim.start : claim.end]
        assert (claim.version, claim.anchor_status, claim.anchor_score) == (1, "exact", 1.0)
        assert claim.deleted_at is None and claim.created_by == team.annotator
        event = AuditEvent.objects.get(verb="claim.create", object_id=str(claim.pk))
        assert event.after == _snapshot(claim, CLAIM_FIELDS)
        assert (event.actor, event.corpus, event.corpus_slug) == (
            team.annotator,
            team.corpus,
            "chips",
        )
        assert event.object_type == "claim"
    assert AuditEvent.objects.filter(before__isnull=True).count() == AuditEvent.objects.count()
    given = {i: item["annotation"] for i, item in enumerate(items) if item.get("annotation")}
    body = response.json()
    for index, annotation_input in given.items():
        annotation = Annotation.objects.get(pk=body[index]["annotation"]["id"])
        event = AuditEvent.objects.get(verb="annotation.create", object_id=str(annotation.pk))
        cleaned = services.clean_evidence(team.article, annotation_input.get("evidence"))
        assert event.after == {
            **_snapshot(annotation, ANNOTATION_FIELDS),
            "evidence": json.loads(json.dumps(cleaned)),
        }
        assert event.object_type == "annotation" and event.actor == team.annotator
    assert [e.position for e in Evidence.objects.order_by("id")] == [0, 1]
    assert Evidence.objects.get(position=1).kind == "source"


def test_a_claim_tagged_meanwhile_is_a_409_and_nothing_is_written(team, client_for, monkeypatch):
    # The caller's annotation of the claim arrived between the check and the insert (another
    # request): the database's unique constraint refuses it, and the whole list is undone.
    claim = ClaimFactory(article=team.article, start=0, end=5)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    found = claims_bulk._live_claims_at
    monkeypatch.setattr(claims_bulk, "_live_claims_at", lambda *a: (found(*a)[0], set()))
    items = [
        {"start": 1, "end": 6, "annotation": {"stance": "support"}},
        {"start": 0, "end": 5, "annotation": {"stance": "support"}},
    ]
    response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 409, response.content
    assert Claim.objects.count() == 1 and Annotation.objects.count() == 1
    assert not AuditEvent.objects.exists()
    # The connection is usable afterwards (no transaction left broken).
    assert client_for(team.annotator).post(_url(team), items[:1], format="json").status_code == 201


def test_the_write_is_one_insert_per_table(team, client_for):
    items = [
        {
            "start": i,
            "end": i + 4,
            "annotation": {"stance": "support", "evidence": [{"start": i, "end": i + 2}]},
        }
        for i in range(40)
    ]
    with CaptureQueriesContext(connection) as queries:
        response = client_for(team.annotator).post(_url(team), items, format="json")
    assert response.status_code == 201
    inserts = [q["sql"].split()[2] for q in queries if q["sql"].startswith("INSERT")]
    assert inserts == [
        '"articles_claim"',
        '"articles_annotation"',
        '"articles_evidence"',
        '"articles_auditevent"',
    ]


# --- The input parser agrees with the serializer ----------------------------------------------

_texts = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " ", "word", " padded ", "a\x00b", "\ud800", "ok ✓", "5", "line\r\nbreak"]
    ),
    st.text(max_size=8),
)
_values = st.one_of(
    _texts,
    st.integers(min_value=-3, max_value=10**19),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.sampled_from(["x", "y", "", " x", 3]), max_size=3),
    st.dictionaries(st.sampled_from(["a"]), st.integers(), max_size=1),
)
_annotation = st.fixed_dictionaries(
    {},
    optional={
        "topic": st.one_of(_texts, st.integers(0, 9)),
        "stance": st.one_of(st.sampled_from(["support", "oppose", "neutral", "maybe"]), _values),
        "labels": _values,
        "confidence": st.one_of(st.integers(-1, 7), _values),
        "note": _values,
        "evidence": st.one_of(st.just([]), st.just([{"start": 0, "end": 2}]), _values),
        "other": _values,
    },
)
_item = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "start": st.one_of(st.integers(-2, 50), _values),
            "end": st.one_of(st.integers(-2, 50), _values),
            "exact": _texts,
            "prefix": _texts,
            "suffix": _texts,
            "summary": _values,
            "labels": _values,
            "annotation": st.one_of(st.none(), _annotation, _values),
            "unknown": _values,
        },
    ),
    _values,
)


def _plain(data):
    return json.loads(json.dumps(data))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=_item)
def test_the_parser_accepts_only_what_the_serializer_accepts_and_cleans_it_alike(item):
    serializer = documents.ClaimBulkItemSerializer(data=item)
    valid = serializer.is_valid()
    parsed = documents.plain_item(item)
    if parsed is not None:
        assert valid, (item, serializer.errors)
        assert _plain(parsed) == _plain(serializer.validated_data)


def test_the_parser_takes_the_shapes_clients_send():
    items = [
        {"start": 0, "end": 5, "annotation": {"stance": "support"}},
        {"exact": "words", "prefix": "", "suffix": None, "summary": "s", "labels": ["x"]},
        {"start": 1, "end": 2, "annotation": None},
        {
            "start": 1,
            "end": 2,
            "annotation": {
                "stance": "oppose",
                "topic": "7",
                "labels": [],
                "confidence": None,
                "note": "",
                "evidence": [],
            },
        },
    ]
    for item in items:
        assert documents.plain_item(item) is not None, item


def test_the_longest_list_is_written_in_statements_the_database_accepts(team, client_for):
    # 1,000 items: more parameters than one statement takes on SQLite (999 by Django's count).
    from tests.factories import ArticleFactory

    article = ArticleFactory(corpus=team.corpus, text="word " * 400 + "🚀 ” — " * 100)
    items = [
        {"start": i, "end": i + 3 + i % 7, "annotation": {"stance": "support", "note": str(i)}}
        for i in range(1000)
    ]
    response = client_for(team.annotator).post(
        f"/api/v1/articles/{article.pk}/claims", items, format="json"
    )
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert len(body) == 1000 and all(c["created"] for c in body)
    assert [c["annotation"]["note"] for c in body] == [str(i) for i in range(1000)]
    for claim in body[::97]:
        stored = Claim.objects.get(pk=claim["id"])
        assert (stored.start, stored.end, stored.exact) == (
            claim["start"],
            claim["end"],
            article.text[claim["start"] : claim["end"]],
        )
        assert Annotation.objects.get(claim=stored).note == claim["annotation"]["note"]
    assert AuditEvent.objects.count() == 2000
