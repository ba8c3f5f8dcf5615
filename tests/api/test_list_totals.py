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


@pytest.mark.parametrize("blind", [False, True], ids=["open", "blind"])
@pytest.mark.parametrize("role", ["owner", "curator", "annotator", "annotator2"])
def test_the_submitted_articles_total_comes_from_the_counters(team, client_for, role, blind):
    """`state=submitted` alone: the articles with a submission the caller may see, counted by
    the counters (the corpus's, or a member's own when they do not see every assignment), as
    many as the list holds; with another filter beside it, the list is counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import AssignmentFactory

    team.corpus.blind = blind
    team.corpus.save()
    for i in range(6):
        article = ArticleFactory(corpus=team.corpus, title=f"Tariffs {i}")
        who = (team.annotator, team.annotator2)[i % 2]
        AssignmentFactory(
            article=article, annotator=who, state="submitted" if i % 3 else "assigned"
        )
    trashed = ArticleFactory(corpus=team.corpus)
    AssignmentFactory(article=trashed, annotator=team.annotator, state="submitted")
    services.article_delete(actor=team.owner, article=trashed, role=Role.OWNER)
    client = client_for(getattr(team, role))
    url = "/api/v1/corpora/chips/articles?page_size=100&count=true&state="
    counting = 'SELECT COUNT(*) AS "__count" FROM "articles_article"'
    sees_every_assignment = role in ("owner", "curator") or not blind
    for state, from_counters in [("submitted", True), ("assigned", sees_every_assignment)]:
        with CaptureQueriesContext(connection) as queries:
            body = client.get(url + state).json()
        assert body["count"] == len(body["results"]), (role, blind, state)
        counted = any(counting in q["sql"] for q in queries.captured_queries)
        assert counted is not from_counters, (role, blind, state)
    body = client.get(url + "submitted&title=tariffs").json()
    assert body["count"] == len(body["results"])
    # An annotator sees their own submissions at least; everyone sees some.
    assert client.get(url + "submitted").json()["count"] > 0


def test_the_open_articles_counter_follows_every_write(team, client_for):
    """CorpusCounts.articles_open (the live articles with an assignment not yet submitted)
    through assigning, submitting, a second annotator, unassigning, the trash and a restore;
    `state=assigned&count=true` reads it (no count of the articles) and always equals the list,
    and a recount from the rows finds nothing to repair."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from articles import counters
    from articles.models import Article, Assignment, CorpusCounts
    from tests.factories import AssignmentFactory

    client = client_for(team.owner)
    url = "/api/v1/corpora/chips/articles?page_size=100&count=true&state=assigned"
    counting = 'SELECT COUNT(*) AS "__count" FROM "articles_article"'

    def check(expected: int) -> None:
        kept = CorpusCounts.objects.get(corpus=team.corpus).articles_open
        with CaptureQueriesContext(connection) as queries:
            body = client.get(url).json()
        assert not any(counting in q["sql"] for q in queries.captured_queries)
        assert (kept, body["count"], len(body["results"])) == (expected,) * 3
        assert counters.recount([team.corpus.pk]) == []

    articles = [ArticleFactory(corpus=team.corpus) for _ in range(4)]
    check(0)
    first = AssignmentFactory(article=articles[0], annotator=team.annotator, state="assigned")
    AssignmentFactory(article=articles[1], annotator=team.annotator, state="submitted")
    check(1)
    # A second annotator on the first article: still one article.
    second = AssignmentFactory(article=articles[0], annotator=team.annotator2, state="assigned")
    check(1)
    # One of the two submits: the other is still open.
    Assignment.objects.filter(pk=first.pk).update(state="submitted")
    check(1)
    Assignment.objects.filter(pk=second.pk).update(state="submitted")
    check(0)
    # Back to open (a curator's reopening), then the article to the trash and back.
    Assignment.objects.filter(pk=second.pk).update(state="assigned")
    check(1)
    services.article_delete(actor=team.owner, article=articles[0], role=Role.OWNER)
    check(0)
    services.article_restore(
        actor=team.owner, article=Article.objects.get(pk=articles[0].pk), role=Role.OWNER
    )
    check(1)
    # Unassigned: gone from the count.
    AssignmentFactory(article=articles[2], annotator=team.annotator2, state="assigned")
    check(2)
    Assignment.objects.filter(pk=second.pk).delete()
    check(1)
