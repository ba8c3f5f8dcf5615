"""On PostgreSQL the document read (`?include=claims`) with an API token sends the token's read
and the document's in one round trip (ArticleDetailView.read_ahead, api/auth.py, a psycopg
pipeline): the answers stay those of the same requests authenticated otherwise for every role,
blind or not, and the rows read ahead serve only a caller whose Access sees all the work."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotator.db.postgresql.base import DatabaseWrapper
from articles import selectors
from articles.api import claim_bodies
from articles.models import ApiToken, Claim
from tests.factories import AnnotationFactory, AssignmentFactory, ClaimFactory, ReviewFactory

pytestmark = pytest.mark.django_db
PIPELINED = connection.vendor == "postgresql"

ROLES = ["owner", "curator", "viewer", "annotator", "annotator2", "outsider"]


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.objects.create(user=user)[1]}")
    client.get("/api/v1/corpora")  # the token's last use recorded (once a minute)
    return client


@pytest.fixture
def work(team):
    claims = ClaimFactory.create_batch(3, article=team.article, created_by=team.curator)
    for claim in claims:
        AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
        AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
    ReviewFactory(claim=claims[0], curator=team.curator)
    return claims


@pytest.mark.parametrize("blind", [False, True])
@pytest.mark.parametrize("submitted", [False, True])
@pytest.mark.parametrize("role", ROLES)
def test_the_answer_is_that_of_the_same_request_without_a_token(
    team, work, client_for, role, blind, submitted
):
    team.corpus.blind = blind
    team.corpus.save()
    user = getattr(team, role)
    if submitted and role.startswith("annotator"):
        AssignmentFactory(article=team.article, annotator=user, state="submitted")
    path = f"/api/v1/articles/{team.article.pk}?include=claims"
    expected = client_for(user).get(path)
    answer = _token_client(user).get(path)
    assert (answer.status_code, answer.content) == (expected.status_code, expected.content)
    if role == "outsider":
        assert answer.status_code == 404
    else:
        shown = sum(len(c["annotations"]) for c in answer.json()["claims"])
        hidden = blind and not submitted and role.startswith("annotator")
        assert shown == (3 if hidden else 6)


# Queries per document read with a token: the token with the article and the caller's role;
# then, on PostgreSQL, the document read ahead in the same round trip (rows only for roles that
# see all the work); then what the caller's Access still needs.
COUNTS = {
    # role: (SQLite, PostgreSQL)
    "owner": (2, 2),  # + the document (PostgreSQL: read ahead)
    "curator": (2, 2),
    "viewer": (2, 2),
    "annotator": (4, 5),  # + whether she submitted, the claims, her own annotations (blind)
    "outsider": (2, 3),  # + the token alone: 404
}


@pytest.mark.parametrize("role", COUNTS)
def test_queries_and_round_trips(team, work, role, django_assert_num_queries, monkeypatch):
    team.corpus.blind = True
    team.corpus.save()
    client = _token_client(getattr(team, role))
    pipelines = []
    original = DatabaseWrapper.pipelined

    def counted(self, statements):
        pipelines.append(len(statements))
        return original(self, statements)

    monkeypatch.setattr(DatabaseWrapper, "pipelined", counted)
    with django_assert_num_queries(COUNTS[role][PIPELINED]) as captured:
        response = client.get(f"/api/v1/articles/{team.article.pk}?include=claims")
    assert response.status_code == (404 if role == "outsider" else 200)
    assert pipelines == ([2] if PIPELINED else [])
    sql = [q["sql"] for q in captured.captured_queries]
    ahead = [q for q in sql if q.startswith('SELECT "articles_claim"') and "token_key" in q]
    assert len(ahead) == (1 if PIPELINED else 0)


def test_no_read_ahead_without_include_claims_or_a_token(team, work, client_for, monkeypatch):
    monkeypatch.setattr(DatabaseWrapper, "pipelined", lambda *a: pytest.fail("read ahead"))
    token = _token_client(team.curator)
    assert token.get(f"/api/v1/articles/{team.article.pk}").status_code == 200
    assert token.get(f"/api/v1/articles/{team.article.pk}/claims").status_code == 200
    assert token.get(f"/api/v1/articles/{team.article.pk}?include=nope").status_code == 400
    assert token.get("/api/v1/articles/12abc?include=claims").status_code == 404
    session = client_for(team.curator)
    assert session.get(f"/api/v1/articles/{team.article.pk}?include=claims").status_code == 200


def _document(user, article, ahead=None):
    fetched, access = selectors.article_with_access(user, article.pk)
    return claim_bodies.article_with_claims(fetched, access, ahead=ahead)


def test_rows_read_ahead_serve_only_those_who_see_all_the_work(team, work):
    """Given every row of the document, a blind annotator's answer is still her own work only;
    no rows (a token revoked in between, or no claims) read the document again."""
    team.corpus.blind = True
    team.corpus.save()
    everything = claim_bodies._DOCUMENT[True].rows(int(team.article.pk))
    assert len(everything) == 6
    for user in (team.annotator, team.annotator2, team.owner):
        assert _document(user, team.article, ahead=everything) == _document(user, team.article)
    mine = _document(team.annotator, team.article, ahead=everything)
    assert sum(len(c["annotations"]) for c in mine["claims"]) == 3
    assert _document(team.owner, team.article, ahead=[]) == _document(team.owner, team.article)


def test_the_read_ahead_gives_rows_only_to_a_member_who_sees_all_the_work(team, work):
    read, (article_id,) = claim_bodies.document_ahead(int(team.article.pk))
    for role, rows in [("owner", 6), ("viewer", 6), ("annotator", 0), ("outsider", 0)]:
        key = ApiToken.objects.create(user=getattr(team, role))[1][:15]
        assert len(read.rows(article_id, key)) == rows, role
    assert read.rows(article_id, "0" * 15) == []
    Claim.objects.filter(article=team.article).update(deleted_at="2024-01-01T00:00:00Z")
    key = ApiToken.objects.create(user=team.curator)[1][:15]
    assert read.rows(article_id, key) == []
