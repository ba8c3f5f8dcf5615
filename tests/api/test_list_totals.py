"""The corpus detail's counts and the articles list's total, through the API: counters read,
not the corpus counted (articles/counters.py)."""

import pytest

from articles import services
from articles.models import Role
from tests.factories import ArticleFactory, ClaimFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("n_articles", [2, 30])
@pytest.mark.parametrize(
    ("role", "blind", "queries"),
    [
        # the corpus with its role, its counters and the member's (MemberCounts), the topics;
        # the same for a blind annotator, whose own figures are counters too
        ("owner", True, 2),
        ("annotator", False, 2),
        ("annotator", True, 2),
    ],
)
def test_the_corpus_detail_and_dashboard_keep_their_query_counts(
    team, client_for, n_articles, role, blind, queries, django_assert_num_queries
):
    team.corpus.blind = blind
    team.corpus.save()
    for _ in range(n_articles - 1):
        ClaimFactory(article=ArticleFactory(corpus=team.corpus))
    client = client_for(getattr(team, role))
    with django_assert_num_queries(queries):
        body = client.get("/api/v1/corpora/chips").json()
    assert body["counts"]["articles"] == n_articles


# --- The articles list's total ------------------------------------------------------------------


def test_the_articles_list_has_a_total(team, client_for):
    for i in range(4):
        ArticleFactory(corpus=team.corpus, title=f"Tariffs {i}")
    services.article_delete(
        actor=team.owner, article=ArticleFactory(corpus=team.corpus), role=Role.OWNER
    )
    client = client_for(team.annotator)
    url = "/api/v1/corpora/chips/articles"
    body = client.get(url + "?page_size=2").json()
    assert body["count"] == 5 and len(body["results"]) == 2
    assert list(body) == ["count", "next", "previous", "results"]
    assert client.get(url + "?title=tariffs").json()["count"] is None
    assert client.get(url + "?title=tariffs&count=true").json()["count"] == 4
    assert client.get(url + "?title=&count=false").json()["count"] == 5
    refused = client.get(url + "?count=maybe")
    assert refused.status_code == 400 and "count" in refused.json()["errors"]
