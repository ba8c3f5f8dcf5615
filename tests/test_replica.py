"""The read replica: which query goes where (the router), heavy GETs on the replica and the
rest on the primary (a request-level test with the replica alias a TEST MIRROR of the primary),
read-your-writes after a write by a browser or an API token, and nothing changed without one."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from articles.models import ApiToken, Article, Job
from articles.replica import REPLICA, ReplicaRouter, read_alias, reads_from
from tests.factories import ArticleFactory


class _CacheEntry:  # what Django's DatabaseCache gives the router
    class _meta:  # noqa: N801
        app_label = "django_cache"
        model_name = "cacheentry"
        db_table = "annotator_cache"


def test_the_router_sends_reads_where_the_request_chose_and_writes_to_the_primary():
    router = ReplicaRouter()
    assert router.db_for_read(Article) is None  # no choice made: the primary
    with reads_from(REPLICA):
        assert read_alias() == REPLICA
        assert router.db_for_read(Article) == REPLICA
        assert router.db_for_write(Article) == "default"
        # Always the primary: the cache table, sessions, tokens, the jobs.
        for model in (_CacheEntry, Session, ApiToken, Job):
            assert router.db_for_read(model) == "default", model
    assert read_alias() == "default"
    assert router.allow_migrate("default", "articles") is True
    assert router.allow_migrate(REPLICA, "articles") is False


@pytest.fixture
def replica_on(settings):
    settings.REPLICA_ALIASES = (REPLICA,)
    settings.REPLICA_READ_YOUR_WRITES_SECONDS = 0.5


def _queries(client: APIClient, method: str, url: str, **kwargs):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        response = getattr(client, method)(url, **kwargs)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    return response, [q["sql"] for q in primary], [q["sql"] for q in replica]


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.objects.create(user=user)[1]}")
    return client


pytestmark_db = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


@pytestmark_db
def test_heavy_reads_go_to_the_replica_and_the_rest_to_the_primary(team, replica_on):
    ArticleFactory.create_batch(3, corpus=team.corpus)
    client = _token_client(team.owner)
    slug = team.corpus.slug
    for url in (
        f"/api/v1/corpora/{slug}/export?format=jsonl",
        f"/api/v1/corpora/{slug}/agreement",
        f"/api/v1/corpora/{slug}/articles",
    ):
        response, primary, replica = _queries(client, "get", url)
        assert response.status_code == 200, url
        assert any('"articles_article"' in sql for sql in replica), url
        assert not any('"articles_article"' in sql for sql in primary), url
        # Who is asking is still checked on the primary (a token just made works at once).
        assert any("articles_apitoken" in sql for sql in primary), url
    # A light read stays on the primary.
    response, primary, replica = _queries(client, "get", f"/api/v1/corpora/{slug}")
    assert response.status_code == 200
    assert replica == []


@pytestmark_db
def test_an_api_client_that_just_wrote_reads_from_the_primary(team, replica_on):
    client = _token_client(team.owner)
    url = f"/api/v1/corpora/{team.corpus.slug}/articles"
    created, _primary, _replica = _queries(
        client, "post", url, data={"title": "Just written", "text": "Fresh."}, format="json"
    )
    assert created.status_code == 201
    response, primary, replica = _queries(client, "get", url)
    assert replica == []  # read-your-writes: the new article is read where it was written
    assert "Just written" in response.content.decode()
    # Another client has not written: the replica serves it.
    _response, _primary, replica = _queries(_token_client(team.curator), "get", url)
    assert replica != []
    time.sleep(0.6)  # the window has passed: back to the replica
    _response, _primary, replica = _queries(client, "get", url)
    assert replica != []


@pytestmark_db
def test_a_browser_that_just_wrote_reads_from_the_primary(team, replica_on):
    from django.test import Client

    browser = Client()
    browser.force_login(team.owner)
    page = f"/corpora/{team.corpus.slug}/"
    _response, _primary, replica = _queries(browser, "get", page)
    assert replica != []  # the article list and its search: a heavy read
    response = browser.post(
        f"/corpora/{team.corpus.slug}/import/", {"title": "Pasted", "text": "A pasted text."}
    )
    assert response.status_code in (200, 302)
    assert "aa_wrote" in response.cookies
    _response, _primary, replica = _queries(browser, "get", page)
    assert replica == []


@pytestmark_db
def test_without_a_replica_everything_reads_from_the_primary(team):
    client = _token_client(team.owner)
    _response, primary, replica = _queries(
        client, "get", f"/api/v1/corpora/{team.corpus.slug}/export?format=csv"
    )
    assert replica == []
    assert any('"articles_article"' in sql for sql in primary)
