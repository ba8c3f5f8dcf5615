"""Every API route: anonymous → 401; a member of one corpus using another corpus's ids → 404."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from articles import services
from articles.models import Annotation, Claim, Comment, Relation, Review
from tests.factories import (
    AnnotationFactory,
    ClaimFactory,
    RelationFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

METHODS_BY_ROUTE = [
    ("/api/v1/corpora", ("get", "post")),
    ("/api/v1/corpora/{slug}", ("get", "patch", "delete")),
    ("/api/v1/corpora/{slug}/topics", ("get", "post")),
    ("/api/v1/corpora/{slug}/members", ("get", "post")),
    ("/api/v1/corpora/{slug}/members/{username}", ("get", "patch", "delete")),
    ("/api/v1/corpora/{slug}/articles", ("get", "post")),
    ("/api/v1/corpora/{slug}/assignments", ("get", "post")),
    ("/api/v1/topics/{topic}", ("get", "patch", "delete")),
    ("/api/v1/articles/{article}", ("get", "patch", "delete")),
    ("/api/v1/articles/{article}/claims", ("get", "post")),
    ("/api/v1/articles/{article}/relations", ("get", "post")),
    ("/api/v1/articles/{article}/submit", ("post",)),
    ("/api/v1/claims/{claim}", ("get", "patch", "delete")),
    ("/api/v1/claims/{claim}/annotations", ("get", "post")),
    ("/api/v1/claims/{claim}/review", ("get", "put", "delete")),
    ("/api/v1/claims/{claim}/comments", ("get", "post")),
    ("/api/v1/annotations/{annotation}", ("get", "patch", "put", "delete")),
    ("/api/v1/relations/{relation}", ("get", "delete")),
]


@pytest.fixture
def other(team):
    """Objects of `other_corpus` (oscar's), which the chips team must not even see."""
    claim = ClaimFactory(article=team.other_article, created_by=team.outsider)
    second = ClaimFactory(article=team.other_article, start=42, end=85, created_by=team.outsider)
    annotation = AnnotationFactory(claim=claim, annotator=team.outsider, topic=team.other_topic)
    relation = RelationFactory(source_claim=second, target_claim=claim, created_by=team.outsider)
    ReviewFactory(claim=claim, curator=team.outsider, topic=team.other_topic)
    return {
        "slug": team.other_corpus.slug,
        "username": team.outsider.username,
        "topic": team.other_topic.pk,
        "article": team.other_article.pk,
        "claim": claim.pk,
        "annotation": annotation.pk,
        "relation": relation.pk,
    }


# Valid for most writes, so that a route answering anything but 401/404 would act on it.
BODY = {"stance": "support", "decision": "rejected", "text": "hi", "role": "owner"}


def test_anonymous_gets_401_on_every_route(team, other, anon):
    for route, methods in METHODS_BY_ROUTE:
        url = route.format(**other)
        for method in methods:
            response = getattr(anon, method)(url, BODY, format="json")
            assert response.status_code == 401, (method, url, response.status_code)
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("who", ["owner", "annotator"])
def test_members_get_404_for_another_corpus_on_every_route(team, other, client_for, who):
    client = client_for(getattr(team, who))
    for route, methods in METHODS_BY_ROUTE[1:]:
        url = route.format(**other)
        for method in methods:
            response = getattr(client, method)(url, BODY, format="json")
            assert response.status_code == 404, (who, method, url, response.status_code)
            assert "other" not in response.json()["detail"].lower()
    assert Claim.objects.alive().filter(article=team.other_article).count() == 2
    assert Annotation.objects.filter(pk=other["annotation"]).exists()
    assert Relation.objects.filter(pk=other["relation"]).exists()
    assert Review.objects.filter(claim_id=other["claim"]).exists()
    assert Comment.objects.count() == 0


def test_permission_is_checked_before_the_body_and_the_version(team, other, client_for):
    """A bad body or a stale version must not tell a non-member (404) or a member without the
    right (403) anything else."""
    oscar_annotation = f"/api/v1/annotations/{other['annotation']}"
    anna = client_for(team.annotator)
    for method in ("patch", "put"):
        response = getattr(anna, method)(oscar_annotation, {"stance": 7}, format="json")
        assert response.status_code == 404, method
    claim = ClaimFactory(article=team.article, created_by=team.annotator)
    mine = AnnotationFactory(claim=claim, annotator=team.annotator)
    arjun = client_for(team.annotator2)
    for method in ("patch", "put"):
        response = getattr(arjun, method)(
            f"/api/v1/annotations/{mine.pk}", {"stance": 7}, format="json"
        )
        assert response.status_code == 403, method
    viewer = client_for(team.viewer)
    stale = viewer.delete(f"/api/v1/claims/{claim.pk}", HTTP_IF_MATCH='"99"')
    assert stale.status_code == 403
    assert Claim.objects.alive().filter(pk=claim.pk).exists()


def test_body_references_to_another_corpus_are_refused_without_leaking(team, other, client_for):
    anna = client_for(team.annotator)
    mine = ClaimFactory(article=team.article)
    relation = anna.post(
        f"/api/v1/articles/{team.article.pk}/relations",
        {"source": str(mine.pk), "target": str(other["claim"]), "kind": "supports"},
        format="json",
    )
    unknown = anna.post(
        f"/api/v1/articles/{team.article.pk}/relations",
        {"source": str(mine.pk), "target": "987654", "kind": "supports"},
        format="json",
    )
    assert relation.status_code == unknown.status_code == 400
    assert relation.json()["errors"]["target"][0].replace(str(other["claim"]), "N") == (
        unknown.json()["errors"]["target"][0].replace("987654", "N")
    )
    topic = anna.post(
        f"/api/v1/claims/{mine.pk}/annotations",
        {"stance": "support", "topic": str(other["topic"])},
        format="json",
    )
    assert topic.status_code == 400
    assert not Relation.objects.filter(source_claim=mine).exists()


# --- token services --------------------------------------------------------------------------


def test_token_services_validate_and_guard(team):
    from datetime import timedelta

    token, key = services.api_token_create(actor=team.annotator, name="  cron  ")
    assert token.name == "cron"
    assert len(key) == 64
    with pytest.raises(ValidationError):
        services.api_token_create(actor=team.annotator, expires_in=timedelta(days=-1))
    with pytest.raises(ValidationError):
        services.api_token_create(actor=team.annotator, name="two\nlines")
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=team.annotator2, token=token)
    services.api_token_revoke(actor=team.annotator, token=token)
    assert not type(token).objects.exists()
