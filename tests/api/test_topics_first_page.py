"""The topics list's first page at the default and the largest page sizes comes from a prepared
read (corpora.first_topics through pagination.FirstPage): the same bytes, `next` link included,
as the queryset paged by DRF; other page sizes and later pages read the queryset, so a client
sweeping page sizes cannot multiply the statements a connection keeps prepared."""

import pytest
from django.db import connection

from articles.api import corpora
from articles.api.pagination import DEFAULT_PAGE_SIZE
from tests.factories import TopicFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/corpora/chips/topics"


def _more_topics(team, count: int) -> None:
    # Positions out of id order, and ties broken by id: the list's order is (position, id).
    for n in range(count):
        TopicFactory(corpus=team.corpus, label=f"Proposition {n}", position=(n * 7) % 5)


def _both(client, monkeypatch, suffixes):
    prepared = [client.get(URL + suffix) for suffix in suffixes]
    with monkeypatch.context() as patched:
        patched.setattr(corpora, "FirstPage", lambda queryset, ordering, read: queryset)
        paged = [client.get(URL + suffix) for suffix in suffixes]
    for one, two in zip(prepared, paged, strict=True):
        assert one.status_code == two.status_code == 200
        assert one.content == two.content
    return prepared


@pytest.mark.parametrize("role", ["owner", "annotator", "viewer"])
def test_the_first_page_is_the_querysets(team, client_for, monkeypatch, role):
    _more_topics(team, DEFAULT_PAGE_SIZE + 1)  # 102 topics: the default page has a next one
    client = client_for(getattr(team, role))
    suffixes = [
        "",
        "?page_size=1",
        "?page_size=2",
        f"?page_size={DEFAULT_PAGE_SIZE}",
        "?page_size=500",
    ]
    prepared = _both(client, monkeypatch, suffixes)
    first = prepared[0].json()
    assert len(first["results"]) == DEFAULT_PAGE_SIZE and first["next"]
    # The next page (a cursor in the query string) reads the queryset, as before.
    following = first["next"].split("/topics", 1)[1]
    second = _both(client, monkeypatch, [following])[0].json()
    assert len(second["results"]) == 2 and second["previous"]
    listed = [t["id"] for t in first["results"] + second["results"]]
    assert len(set(listed)) == DEFAULT_PAGE_SIZE + 2


def test_a_short_list_and_an_empty_one(team, client_for, monkeypatch):
    client = client_for(team.owner)
    assert [t["id"] for t in _both(client, monkeypatch, [""])[0].json()["results"]] == [
        str(team.topic.pk)
    ]
    team.topic.delete()
    assert _both(client, monkeypatch, [""])[0].json() == {
        "next": None,
        "previous": None,
        "results": [],
    }


def test_only_the_default_and_the_largest_page_sizes_are_prepared(team, client_for, monkeypatch):
    limits = []
    real = corpora.first_topics
    monkeypatch.setattr(corpora, "first_topics", lambda c, n: limits.append(n) or real(c, n))
    client = client_for(team.owner)
    for suffix in ["", "?page_size=2", "?page_size=500", "?page_size=100", "?page_size=499", ""]:
        assert client.get(URL + suffix).status_code == 200
    assert limits == [101, 501, 101, 101]  # one row more than the page


def test_the_first_page_is_one_query_after_the_corpus(team, client_for, django_assert_num_queries):
    client = client_for(team.owner)
    with django_assert_num_queries(2):  # the corpus with the role, the page
        assert client.get(URL).json()["results"]


def _topics_statements() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return {sql: n for sql, n in cursor.fetchall() if 'FROM "articles_topic"' in sql}


def _one_statement_for_the_default_page_size(team, client_for):
    client = client_for(team.owner)
    for suffix in ["", *(f"?page_size={n}" for n in range(1, 30)), "", "?page_size=100"]:
        assert client.get(URL + suffix).status_code == 200
    assert list(_topics_statements().values()) == [3]  # one statement, executed three times


# The server's prepared statements: collected on PostgreSQL only (CI counts a skip as a failure).
if connection.vendor == "postgresql":
    test_one_statement_for_the_default_page_size = _one_statement_for_the_default_page_size
