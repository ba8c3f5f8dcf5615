"""With an API token, the token and what the URL names (an article or a corpus, with the
caller's role) are read in one query (selectors.read_with_token, api/auth.py): the answers are
those of the same requests authenticated otherwise, refusals included, and a token stops
working the moment it is revoked."""

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from articles import selectors
from articles.api.auth import fetched_with_token
from articles.models import ApiToken
from articles.replica import reads_from
from tests.factories import AnnotationFactory, ClaimFactory, UserFactory

pytestmark = pytest.mark.django_db


def _with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _key(user) -> str:
    return ApiToken.objects.create(user=user, name="script")[1]


def _paths(team) -> list[str]:
    article = team.article.pk
    return [
        f"/api/v1/articles/{article}?include=claims",
        f"/api/v1/articles/{article}",
        f"/api/v1/articles/{article}/claims",
        "/api/v1/corpora/chips/topics",
        "/api/v1/corpora/chips",
        f"/api/v1/articles/{team.other_article.pk}",  # another corpus's: 404
        "/api/v1/articles/999999999",
        "/api/v1/articles/12abc",
        "/api/v1/corpora/other/topics",
        "/api/v1/corpora/no-such-corpus",
    ]


@pytest.mark.parametrize("role", ["owner", "curator", "annotator", "viewer", "outsider"])
def test_the_answers_are_those_of_the_same_requests_without_a_token(team, client_for, role):
    user = getattr(team, role)
    claim = ClaimFactory(article=team.article, created_by=team.curator)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    with_token = _with_key(_key(user))
    for path in _paths(team):
        expected = client_for(user).get(path)
        answer = with_token.get(path)
        assert (answer.status_code, answer.content) == (expected.status_code, expected.content)


def test_the_token_and_the_article_are_one_query(team, django_assert_num_queries):
    ClaimFactory.create_batch(3, article=team.article, created_by=team.curator)
    client = _with_key(_key(team.curator))
    client.get("/api/v1/corpora")  # the token's last use recorded (once a minute)
    # the token with the article and the caller's role, then the claims with their annotations
    with django_assert_num_queries(2):
        assert client.get(f"/api/v1/articles/{team.article.pk}?include=claims").status_code == 200
    with django_assert_num_queries(2):  # the token with the corpus, then its topics
        assert client.get("/api/v1/corpora/chips/topics").status_code == 200
    # not a member: the token (with nothing joined to it), then the token alone: 404
    outsider = _with_key(_key(team.outsider))
    outsider.get("/api/v1/corpora")
    with django_assert_num_queries(2):
        assert outsider.get(f"/api/v1/articles/{team.article.pk}").status_code == 404


def test_refused_tokens_are_refused_on_every_path(team):
    revoked = _with_key(_key(team.curator))
    assert revoked.get(f"/api/v1/articles/{team.article.pk}").status_code == 200
    assert revoked.delete("/api/v1/auth/token").status_code == 204
    expired_key = _key(team.curator)
    ApiToken.objects.filter(user=team.curator).update(expiry=timezone.now() - timedelta(seconds=1))
    inactive = UserFactory(username="gone")
    team.corpus.memberships.create(user=inactive, role="annotator")
    inactive_client = _with_key(_key(inactive))
    type(inactive).objects.filter(pk=inactive.pk).update(is_active=False)
    forged = _with_key(_key(team.viewer)[:-4] + "0000")
    for path in _paths(team):
        for client in (revoked, _with_key(expired_key), inactive_client, forged):
            assert client.get(path).status_code == 401, path
    assert not ApiToken.objects.filter(user=team.curator).exists()  # the expired one deleted


def _sharing_the_key_of(key: str, user, tail: str) -> str:
    """A token of `user` whose key starts as `key` does (knox's lookup key), told apart by its
    digest only."""
    twin = key[:15] + tail * (len(key) - 15)
    ApiToken(user=user, name="twin", token_key=key[:15], digest=hash_token(twin)).save()
    return twin


def test_tokens_sharing_a_key_each_read_as_their_own_user(team):
    """knox looks tokens up by their first characters; two that share them are told apart by
    their digest, here on the joined rows as on knox's."""
    curators = _key(team.curator)
    outsiders = _sharing_the_key_of(curators, team.outsider, "0")
    viewers = _sharing_the_key_of(curators, team.viewer, "1")
    path = f"/api/v1/articles/{team.article.pk}"
    assert _with_key(curators).get(path).json()["my_role"] == "curator"
    assert _with_key(viewers).get(path).json()["my_role"] == "viewer"
    assert _with_key(outsiders).get(path).status_code == 404
    assert _with_key(outsiders).get("/api/v1/corpora/other").json()["my_role"] == "owner"
    assert _with_key(curators).get("/api/v1/corpora/other").status_code == 404
    assert _with_key(curators[:15] + "2" * 49).get(path).status_code == 401


def test_a_write_answers_what_it_wrote(team):
    client = _with_key(_key(team.owner))
    path = f"/api/v1/articles/{team.article.pk}"
    before = client.get(path).json()
    changed = client.patch(
        path, {"title": "Renamed"}, format="json", HTTP_IF_MATCH=f'"{before["version"]}"'
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["title"] == "Renamed"
    assert changed.json()["version"] == before["version"] + 1
    stale = client.patch(
        path, {"title": "Again"}, format="json", HTTP_IF_MATCH=f'"{before["version"]}"'
    )
    assert stale.status_code == 412
    assert stale.json()["current"]["title"] == "Renamed"


def test_what_was_read_with_the_token_serves_one_fetch_only(rf, team):
    request = rf.get("/")
    request.user = team.curator
    key = _key(team.curator)[:15]
    alias, pairs = selectors.read_with_token(selectors.article_with_access, team.article.pk, key)
    assert len(pairs) == 1
    request._fetched_with_token = (selectors.article_with_access, "1", team.curator, 0)
    # another fetcher or value, or another user: not used
    assert fetched_with_token(request, selectors.corpus_with_access, "1") is None
    read = (alias, [pairs[0][0]])
    request._fetched_with_token = (selectors.article_with_access, "1", team.owner, read)
    assert fetched_with_token(request, selectors.article_with_access, "1") is None
    request._fetched_with_token = (selectors.article_with_access, "1", team.curator, read)
    assert fetched_with_token(request, selectors.article_with_access, "1") == read
    assert fetched_with_token(request, selectors.article_with_access, "1") is None  # once


def test_reads_from_a_replica_are_not_joined_to_the_token(team):
    key = _key(team.curator)[:15]
    article = team.article.pk
    with reads_from("replica"):
        assert selectors.read_with_token(selectors.article_with_access, article, key) is None
    assert selectors.read_with_token(selectors.topic_with_access, team.topic.pk, key) is None
    assert selectors.read_with_token(selectors.article_with_access, "12abc", key) is None
