"""The document read, the article and the claims list are built from rows (api/claim_bodies.py):
their answers must be byte for byte what the serializers give, for every role and visibility
case (blind mode before and after submitting), with every kind of value (null dates, orphans,
reviews with and without a topic, evidence of both kinds, emoji, other time zones)."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from articles import claim_selectors, selectors
from articles.access import Kind
from articles.api import documents
from articles.api import serializers as s
from articles.models import AnchorStatus, Article, Claim
from tests.factories import (
    AnnotationFactory,
    AssignmentFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
    TopicFactory,
)

pytestmark = pytest.mark.django_db

TEXT = (
    "Restricting chip exports is shortsighted \U0001f680, says the op-ed. "
    "The lab trained its model on low-end chips \u2014 \u201cnobody noticed\u201d. "
    "Right-to-left: \u05e9\u05dc\u05d5\u05dd. Combining: e\u0301. CJK: \u4e2d\u6587."
)


def _span(article, start, end, **extra):
    return ClaimFactory(article=article, start=start, end=end, **extra)


@pytest.fixture
def document(team):
    """One article with the work of several people on it: claims (one an orphan, one deleted),
    annotations with and without evidence, reviews, relations, comments."""
    article = team.article
    article.text = TEXT
    article.author = "A. Writer"
    article.published_on = dt.date(2024, 2, 29)
    article.save()
    second_topic = TopicFactory(corpus=team.corpus, label="Second proposition \u2713")
    one = _span(article, 0, 40, summary="Export limits fail", labels=["policy", "\u00e9conomie"])
    two = _span(article, 67, 110, labels=[])
    three = _span(article, 0, 11)  # starts with `one`, ends first: after it in text order
    four = _span(article, 112, 130)
    four.anchor_status, four.anchor_score, four.anchor_version = AnchorStatus.FUZZY, 0.8731, 2
    four.save()
    Claim.objects.filter(pk=_span(article, 20, 30).pk).update(deleted_at=timezone.now())
    orphan = _span(article, 40, 50)
    Claim.objects.filter(pk=orphan.pk).update(
        start=None, end=None, anchor_status=AnchorStatus.ORPHANED, anchor_score=0.1
    )
    mine = AnnotationFactory(
        claim=one, annotator=team.annotator, topic=team.topic, labels=["a", "b"], confidence=4
    )
    EvidenceFactory(annotation=mine, position=1)
    EvidenceFactory(
        annotation=mine,
        position=0,
        kind="span",
        start=67,
        end=75,
        exact=TEXT[67:75],
        url="",
        title="",
        evidence_type="example",
        role="undermines",
    )
    theirs = AnnotationFactory(
        claim=one,
        annotator=team.annotator2,
        topic=second_topic,
        stance="oppose",
        note="Not \U0001f600 convinced",
        status="submitted",
        second_look=True,
    )
    EvidenceFactory(annotation=theirs, quote="\u201cquoted\u201d")
    AnnotationFactory(claim=two, annotator=team.annotator2, topic=team.topic, stance="neutral")
    AnnotationFactory(claim=four, annotator=team.curator, topic=team.topic)
    AnnotationFactory(claim=orphan, annotator=team.annotator2, topic=team.topic)
    ReviewFactory(claim=one, curator=team.curator, topic=second_topic, note="kept")
    ReviewFactory(claim=two, curator=team.owner, decision="rejected", topic=None, stance="")
    RelationFactory(source_claim=two, target_claim=one, created_by=team.annotator2)
    CommentFactory(claim=one, author=team.annotator2)
    return {"claims": [one, three, two, four], "article": article}


CASES = [
    ("owner", False, False),
    ("curator", True, False),
    ("viewer", True, False),
    ("annotator", False, False),
    ("annotator", True, False),  # blind, not submitted: only her own work, no reviews
    ("annotator", True, True),  # blind, submitted: everything
    ("annotator2", True, False),
]


def _render(data) -> bytes:
    return JSONRenderer().render(data)


def _setup(team, role, blind, submitted):
    team.corpus.blind = blind
    team.corpus.save()
    user = getattr(team, role)
    if submitted:
        AssignmentFactory(article=team.article, annotator=user, state="submitted")
    return user


@pytest.mark.parametrize(("role", "blind", "submitted"), CASES)
def test_the_document_read_is_the_serializers_answer(
    team, document, client_for, role, blind, submitted
):
    user = _setup(team, role, blind, submitted)
    response = client_for(user).get(f"/api/v1/articles/{team.article.pk}?include=claims")
    assert response.status_code == 200
    article, access = selectors.article_with_access(user, team.article.pk)
    assert response.content == _render(documents.article_with_claims(article, access))
    body = response.json()
    assert [c["id"] for c in body["claims"]] == [str(c.pk) for c in document["claims"]]
    shown = sum(len(c["annotations"]) for c in body["claims"])
    blinded = {("annotator", True, False): 1, ("annotator2", True, False): 2}  # their own
    assert shown == blinded.get((role, blind, submitted), 4)


@pytest.mark.parametrize(("role", "blind", "submitted"), CASES)
def test_the_article_is_the_serializers_answer(team, document, client_for, role, blind, submitted):
    user = _setup(team, role, blind, submitted)
    response = client_for(user).get(f"/api/v1/articles/{team.article.pk}")
    assert response.status_code == 200
    article, access = selectors.article_with_access(user, team.article.pk)
    assert response.content == _render(
        s.ArticleSerializer(article, context={"access": access}).data
    )


def _claims_reference(user, article, **page):
    """The claims list as ClaimSerializer over model instances gives it (the former list())."""
    fetched, access = selectors.article_with_access(user, article.pk)
    visible = access.sees_all_on(fetched, Kind.REVIEW)
    claims = list(claim_selectors.claims_listed(fetched).order_by("start", "-end", "id"))
    return s.ClaimSerializer(claims, many=True, context={"reviews_visible": visible}).data


@pytest.mark.parametrize(("role", "blind", "submitted"), CASES)
def test_the_claims_list_is_the_serializers_answer_page_by_page(
    team, document, client_for, role, blind, submitted
):
    user = _setup(team, role, blind, submitted)
    client = client_for(user)
    reference = _claims_reference(user, team.article)
    assert len(reference) == 4
    whole = client.get(f"/api/v1/articles/{team.article.pk}/claims")
    assert whole.content == _render({"next": None, "previous": None, "results": reference})
    # Page by page (the cursor's position read from rows, not instances), forwards and back.
    url, pages = f"/api/v1/articles/{team.article.pk}/claims?page_size=1", []
    while url:
        body = client.get(url).json()
        pages.append(body)
        url = body["next"]
    assert [p["results"][0] for p in pages] == list(reference)
    assert client.get(pages[-1]["previous"]).json()["results"] == [reference[-2]]


def test_the_claims_list_filters_as_before(team, document, client_for):
    client = client_for(team.curator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    reviewed = client.get(url, {"reviewed": "true"}).json()["results"]
    assert [c["id"] for c in reviewed] == [
        str(document["claims"][0].pk),
        str(document["claims"][2].pk),
    ]
    assert [c["id"] for c in client.get(url, {"stance": "oppose"}).json()["results"]] == [
        str(document["claims"][0].pk)
    ]
    assert client.get(url, {"decision": "nonsense"}).status_code == 400


def test_other_time_zones_and_null_dates_read_the_same(team, document, client_for, settings):
    Article.objects.filter(pk=team.article.pk).update(published_on=None)
    with timezone.override("America/St_Johns"):  # a half-hour offset
        response = client_for(team.curator).get(
            f"/api/v1/articles/{team.article.pk}?include=claims"
        )
        article, access = selectors.article_with_access(team.curator, team.article.pk)
        assert response.content == _render(documents.article_with_claims(article, access))
    body = response.json()
    assert body["published_on"] is None and body["created_at"].endswith(("-03:30", "-02:30"))


def test_a_document_without_claims(team, client_for):
    response = client_for(team.viewer).get(f"/api/v1/articles/{team.article.pk}?include=claims")
    article, access = selectors.article_with_access(team.viewer, team.article.pk)
    assert response.content == _render(documents.article_with_claims(article, access))
    assert response.json()["claims"] == []
