"""The claims list's first page without filters comes from a prepared read
(claim_bodies.first_claims through pagination.FirstPage): the same bytes, `next` link included,
as the queryset paged by DRF, at every page size."""

import pytest
from django.db import connection

from articles.api import claim_bodies
from articles.api import claims as claims_api
from tests.factories import ClaimFactory, ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["curator", "annotator"])
def test_the_first_page_is_the_querysets(team, client_for, monkeypatch, role):
    made = [
        ClaimFactory(article=team.article, created_by=team.curator, start=start, end=start + 5)
        for start in (0, 10, 10, 20, 30)
    ]
    ReviewFactory(claim=made[1], curator=team.curator, topic=team.topic)
    client = client_for(getattr(team, role))
    url = f"/api/v1/articles/{team.article.pk}/claims"
    suffixes = ["", "?page_size=1", "?page_size=2", "?page_size=4", "?page_size=5", "?page_size=9"]
    suffixes += ["?page_size=100", "?page_size=500"]
    prepared = [client.get(url + suffix) for suffix in suffixes]
    with monkeypatch.context() as patched:
        patched.setattr(claims_api, "FirstPage", lambda queryset, ordering, read: queryset)
        paged = [client.get(url + suffix) for suffix in suffixes]
    for one, two in zip(prepared, paged, strict=True):
        assert one.status_code == two.status_code == 200
        assert one.content == two.content
    assert prepared[2].json()["next"]  # more than a page: the link to the next one


def test_the_first_page_is_one_query_after_the_article(team, client_for, django_assert_num_queries):
    ClaimFactory.create_batch(3, article=team.article, created_by=team.curator)
    client = client_for(team.curator)
    with django_assert_num_queries(2):  # the article with the role, the page
        assert client.get(f"/api/v1/articles/{team.article.pk}/claims?page_size=2").json()["next"]


def test_only_the_default_and_the_largest_page_sizes_are_prepared(team, client_for, monkeypatch):
    ClaimFactory.create_batch(3, article=team.article, created_by=team.curator)
    limits = []
    real = claim_bodies.first_claims
    monkeypatch.setattr(
        claim_bodies, "first_claims", lambda a, **k: limits.append(k["limit"]) or real(a, **k)
    )
    client = client_for(team.curator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    for suffix in ["", "?page_size=2", "?page_size=500", "?page_size=100", "?page_size=499"]:
        assert client.get(url + suffix).status_code == 200
    assert limits == [101, 501, 101]  # one row more than the page


def _claims_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "articles_claim"%LIMIT%'],
        )
        return cursor.fetchone()[0]


def _page_sizes_do_not_multiply_prepared_statements(team, client_for):
    ClaimFactory.create_batch(3, article=team.article, created_by=team.curator)
    client = client_for(team.curator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    for n in [*range(1, 30), 100, 500, 100]:
        assert client.get(f"{url}?page_size={n}").status_code == 200
    assert _claims_statements() == 2  # the two prepared page sizes, nothing for the others


# The server's prepared statements: collected on PostgreSQL only (CI counts a skip as a failure).
if connection.vendor == "postgresql":
    test_page_sizes_do_not_multiply_prepared_statements = (
        _page_sizes_do_not_multiply_prepared_statements
    )
