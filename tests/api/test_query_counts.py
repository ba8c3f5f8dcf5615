"""Every API list runs the same number of queries for 2 rows as for 20 (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Membership, Role
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    CommentFactory,
    CorpusFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
    TopicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _claims(team, n):
    """n claims, each tagged (with evidence), reviewed, commented and related to the first."""
    first = None
    for i in range(n):
        claim = ClaimFactory(article=team.article, start=i, end=i + 5)
        annotation = AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
        EvidenceFactory(annotation=annotation)
        ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
        CommentFactory(claim=claim, author=team.annotator)
        if first is None:
            first = claim
        else:
            RelationFactory(source_claim=claim, target_claim=first, created_by=team.annotator)


def _annotations(team, n):
    claim = team.__dict__.setdefault("the_claim", ClaimFactory(article=team.article))
    for _ in range(n):
        annotator = UserFactory()
        Membership.objects.create(corpus=team.corpus, user=annotator, role=Role.ANNOTATOR)
        annotation = AnnotationFactory(claim=claim, annotator=annotator, topic=team.topic)
        EvidenceFactory(annotation=annotation)
        EvidenceFactory(annotation=annotation, kind="span", start=0, end=4, exact="Rest", url="")
    return f"/api/v1/claims/{claim.pk}/annotations"


def _comments(team, n):
    claim = team.__dict__.setdefault("the_claim", ClaimFactory(article=team.article))
    for _ in range(n):
        CommentFactory(claim=claim, author=UserFactory())
    return f"/api/v1/claims/{claim.pk}/comments"


def _relations(team, n):
    hub = team.__dict__.setdefault("the_claim", ClaimFactory(article=team.article))
    for i in range(n):
        other = ClaimFactory(article=team.article, start=i + 1, end=i + 6)
        RelationFactory(source_claim=other, target_claim=hub, created_by=UserFactory())
    return f"/api/v1/articles/{team.article.pk}/relations"


def _corpora(team, n):
    for _ in range(n):
        corpus = CorpusFactory(created_by=UserFactory())
        Membership.objects.create(corpus=corpus, user=team.annotator, role=Role.ANNOTATOR)
        ClaimFactory(article=ArticleFactory(corpus=corpus))
    return "/api/v1/corpora"


def _articles(team, n):
    for _ in range(n):
        article = ArticleFactory(corpus=team.corpus, created_by=UserFactory())
        AnnotationFactory(claim=ClaimFactory(article=article), annotator=team.annotator)
        AssignmentFactory(article=article, annotator=team.annotator)
    return "/api/v1/corpora/chips/articles"


def _members(team, n):
    for _ in range(n):
        Membership.objects.create(corpus=team.corpus, user=UserFactory(), role=Role.VIEWER)
    return "/api/v1/corpora/chips/members"


def _topics(team, n):
    for _ in range(n):
        TopicFactory(corpus=team.corpus)
    return "/api/v1/corpora/chips/topics"


def _assignments(team, n):
    for _ in range(n):
        article = ArticleFactory(corpus=team.corpus)
        AssignmentFactory(article=article, annotator=UserFactory(), assigned_by=UserFactory())
        if team.corpus.blind:  # others' assignments reach anna once she has submitted the article
            AssignmentFactory(article=article, annotator=team.annotator, state="submitted")
    return "/api/v1/corpora/chips/assignments"


def _claims_url(team, n):
    _claims(team, n)
    return f"/api/v1/articles/{team.article.pk}/claims"


SEEDERS = {
    "corpora": _corpora,
    "articles": _articles,
    "claims": _claims_url,
    "annotations": _annotations,
    "relations": _relations,
    "comments": _comments,
    "members": _members,
    "topics": _topics,
    "assignments": _assignments,
}


def _count_queries(client, url, expected_rows):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url + "?page_size=500")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) >= expected_rows
    return len(queries)


@pytest.mark.parametrize("blind", [False, True], ids=["open", "blind"])
@pytest.mark.parametrize("endpoint", sorted(SEEDERS))
def test_list_query_count_does_not_grow_with_rows(endpoint, blind, team, client_for):
    team.corpus.blind = blind
    team.corpus.save()
    if blind:  # anna has submitted: she sees everything, after the extra blind-mode checks
        AssignmentFactory(article=team.article, annotator=team.annotator, state="submitted")
    client = client_for(team.annotator)
    seed = SEEDERS[endpoint]
    url = seed(team, 2)
    small = _count_queries(client, url, 2)
    seed(team, 18)
    large = _count_queries(client, url, 20)
    assert small == large, f"{endpoint}: {small} queries for 2 rows, {large} for 20"
