"""What a bulk import leaves for the next reads: the ids it created, and planner statistics that
count its rows (the import refreshes them itself: db_statistics)."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection

from articles import db_statistics
from articles.models import Article, Claim

pytestmark = pytest.mark.django_db

URL = "/api/v1/corpora/chips/import"


def _lines(n: int, claims: int = 2) -> bytes:
    text = "Chips matter. Prices doubled in labs. Rules fail. “Quotes” — and 🚀 too."
    lines = []
    for i in range(n):
        spans = [{"exact": part} for part in ("Chips matter.", "Rules fail.")[:claims]]
        lines.append(json.dumps({"title": f"A {i}", "text": text, "claims": spans}))
    return "\n".join(lines).encode()


def test_the_import_answers_the_ids_it_created_in_file_order(team, client):
    client.force_login(team.owner)
    response = client.post(URL, data=_lines(3), content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    body = response.json()
    articles = list(Article.objects.filter(corpus=team.corpus).order_by("id"))
    assert body["article_ids"] == [str(a.pk) for a in articles if a.title.startswith("A ")]
    claims = Claim.objects.filter(article__in=articles).order_by("article_id", "start")
    assert body["claim_ids"] == [str(c.pk) for c in claims]
    assert body["articles"] == 3 and body["claims"] == 6


def _counted(table: str) -> float:
    return db_statistics._counted_rows([table])[table]


def test_an_import_refreshes_the_statistics_of_the_tables_it_grew(
    team, client, django_capture_on_commit_callbacks
):
    client.force_login(team.owner)
    # What the statistics counted before: nothing on a fresh database; on PostgreSQL, possibly
    # an earlier test's larger import (ANALYZE writes the row count in place, outside the
    # transaction a test rolls back), which raises the thresholds (see _enough_lines).
    articles_before = _counted("articles_article")
    lines = _enough_lines(40)
    assert lines + 1 < db_statistics._threshold(articles_before)  # the articles stay under
    body = _lines(lines, claims=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(URL, data=body, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1
    # More claims written than 50 + 10 % of those counted before: analysed, every row counted.
    claims = Claim.objects.count()
    assert claims >= 2 * lines
    assert abs(_counted("articles_claim") - claims) <= max(2, 0.02 * claims)
    # The articles (one per line, +1 of the fixture) are under their threshold: not analysed.
    assert _counted("articles_article") == articles_before


def test_a_small_write_after_a_large_one_does_not_analyse_again():
    from django.apps import apps

    table = apps.get_model("articles", "Claim")._meta.db_table
    assert db_statistics.refresh({"Claim": 0}) == []
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # the same statement on both databases
    counted = _counted(table)
    assert db_statistics.refresh({"Claim": int(50 + 0.1 * counted)}) == []
    assert db_statistics.refresh({"Claim": int(51 + 0.1 * counted) + 1}) == [table]


def test_imported_rows_never_reuse_the_id_of_a_row_deleted_for_good(team, client):
    client.force_login(team.owner)
    last = Article.objects.order_by("-id").first()
    assert last is not None
    gone = last.pk
    last.delete()  # purged: its id stays spent, as the database's own counter would have it
    body = client.post(URL, data=_lines(2), content_type="application/x-ndjson").json()
    assert min(int(pk) for pk in body["article_ids"]) > gone
    for article in Article.objects.filter(pk__in=body["article_ids"]):
        assert article.text_sha256 and article.created_at and article.version == 1
        assert article.claims.count() == 2
    # The next article made the ordinary way follows them.
    from tests.factories import ArticleFactory

    assert ArticleFactory(corpus=team.corpus).pk > max(int(pk) for pk in body["article_ids"])


def _enough_lines(at_least: int, claims: int = 2) -> int:
    """Lines of `claims` claims each, at least `at_least`, that outgrow the claims' statistics:
    PostgreSQL's ANALYZE writes a table's row count in place, so it outlives the rolled-back
    transaction of an earlier test that analysed a larger import, and the threshold with it."""
    counted = db_statistics._counted_rows(["articles_claim"])["articles_claim"]
    return max(at_least, int(db_statistics._threshold(counted)) // claims + 1)


def test_the_import_analyses_the_columns_reads_plan_by_not_the_free_text(
    team, client, django_capture_on_commit_callbacks
):
    client.force_login(team.owner)
    lines = _lines(_enough_lines(40), claims=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data=lines, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    if connection.vendor == "sqlite":  # statistics per index, not per column: the claims' indexes
        with connection.cursor() as cursor:
            cursor.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'articles_claim'")
            indexed = {name for (name,) in cursor.fetchall()}
        assert any("article_id" in name for name in indexed), indexed
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = 'articles_claim'")
        analysed = {name for (name,) in cursor.fetchall()}
    assert {"article_id", "start", "deleted_at", "created_by_id"} <= analysed
    assert not analysed & {"exact", "prefix", "suffix", "summary", "labels"}


def _estimated_rows(sql: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]["Plan Rows"]


def test_after_a_large_import_the_reads_are_planned_by_the_new_rows(
    team, client, django_capture_on_commit_callbacks
):
    """The import's ANALYZE samples fewer rows than the database's default (PostgreSQL), and what
    the reads plan by still holds: live claims are (nearly) all of them, an article has a few."""
    client.force_login(team.owner)
    lines = _lines(_enough_lines(300), claims=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data=lines, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    article = int(response.json()["article_ids"][7])
    if connection.vendor == "sqlite":  # a sample per index: rows, and rows per article
        with connection.cursor() as cursor:
            cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'articles_claim'")
            stats = {name: stat.split() for name, stat in cursor.fetchall()}
        by_article = [stat for name, stat in stats.items() if "article_id" in name]
        assert by_article and all(int(stat[0]) >= 600 for stat in by_article), stats
        assert all(int(stat[1]) <= 10 for stat in by_article), stats
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, null_frac, n_distinct, histogram_bounds::text FROM pg_stats "
            "WHERE tablename = 'articles_claim'"
        )
        stats = {name: (nulls, distinct, bounds) for name, nulls, distinct, bounds in cursor}
    assert stats["deleted_at"][0] == 1.0
    # The smaller sample: at most PG_STATISTICS_TARGET + 1 histogram bounds (the default, 101).
    bounds = stats["id"][2] or "{}"
    assert len(bounds.strip("{}").split(",")) <= db_statistics.PG_STATISTICS_TARGET + 1 < 101
    live = _estimated_rows("SELECT id FROM articles_claim WHERE deleted_at IS NULL")
    assert live >= 0.9 * Claim.objects.count()
    one = _estimated_rows(
        f"SELECT id FROM articles_claim WHERE article_id = {article} AND deleted_at IS NULL"  # noqa: S608
    )
    assert 1 <= one <= 10


@pytest.mark.django_db(transaction=True)
def test_the_api_refreshes_the_statistics_after_answering(team, client, monkeypatch):
    """PostgreSQL: the import's ANALYZE runs after the answer is sent, in a thread on a
    connection of its own (the import is committed); SQLite's runs before it, as ever."""
    client.force_login(team.owner)
    monkeypatch.setattr(db_statistics, "last_refresh", None)
    refreshed = []
    refresh = db_statistics.refresh

    def watched(written):
        refreshed.append(threading.current_thread().name)
        return refresh(written)

    monkeypatch.setattr(db_statistics, "refresh", watched)
    lines = _lines(_enough_lines(40), claims=2)
    response = client.post(URL, data=lines, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    thread = db_statistics.last_refresh
    if connection.vendor == "sqlite":
        assert thread is None and refreshed == [threading.current_thread().name]
        return
    assert thread is not None
    thread.join(timeout=30)
    assert refreshed == ["statistics-refresh"]
    claims = Claim.objects.count()
    assert abs(_counted("articles_claim") - claims) <= max(2, 0.02 * claims)
