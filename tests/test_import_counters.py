"""The import counts its new articles itself while the counting triggers stand aside
(counters.deferred): every counter equals a full recount after imports with every kind of row,
a failed import leaves the counters and the triggers as they were, and the triggers count the
writes that follow, in the same transaction too. On SQLite and PostgreSQL (CI runs both)."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from articles import counters, imports, services
from articles.imports import jsonl as jsonl_import
from articles.models import Article, ArticleCounts, CorpusCounts, Role

from .factories import AnnotationFactory, ClaimFactory

pytestmark = pytest.mark.django_db

TEXT = "Chips are scarce. Labs adapt \U0001f680 quickly. Rules fail. Prices rose."


def _claim(words: str, *annotations: dict, **extra) -> dict:
    start = TEXT.index(words)
    return {"start": start, "end": start + len(words), "annotations": list(annotations), **extra}


def _line(title: str) -> dict:
    return {
        "title": title,
        "text": TEXT,
        "claims": [
            _claim(
                "Chips are scarce",
                {"annotator": "anna", "stance": "support", "status": "submitted"},
                {"annotator": "arjun", "stance": "oppose"},
                review={"curator": "carmen", "decision": "accepted", "stance": "support"},
                comments=[{"author": "carmen", "text": "Yes."}],
            ),
            _claim(
                "Labs adapt", {"annotator": "arjun", "stance": "neutral", "status": "submitted"}
            ),
            _claim("Rules fail", review={"curator": "carmen", "decision": "rejected"}),
            # An orphan: a live claim without a position.
            {"exact": "Gone words", "anchor": {"status": "orphaned"}, "start": None, "end": None},
            _claim("Prices rose"),
        ],
        "relations": [{"source": 1, "target": 0, "kind": "supports"}],
    }


def _body(*titles: str) -> bytes:
    return "\n".join(json.dumps(_line(t)) for t in titles).encode()


def _import(team, body: bytes):
    return imports.import_file(
        actor=team.owner, corpus=team.corpus, role=Role.OWNER, name="x.jsonl", data=body
    )


def _kept() -> tuple[list, list]:
    return (
        sorted(ArticleCounts.objects.values_list(*("article_id", *counters.FIELDS))),
        sorted(CorpusCounts.objects.values_list("corpus_id", *counters.CORPUS_FIELDS)),
    )


def _triggers() -> list:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname LIKE "
                "'%%_counts' ORDER BY tgname"
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            )
        return cursor.fetchall()


def test_every_counter_equals_a_recount_after_imports(team, monkeypatch):
    # Work in the corpus before the import, which the import must add to, not replace.
    claim = ClaimFactory(article=team.article)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 2)  # several chunks, one count
    result = _import(team, _body("One", "Two", "Three"))
    assert result.articles == 3 and result.claims == 15 and result.reviews == 6
    assert counters.recount(repair=False) == []
    counts = counters.counts_of_corpus(team.corpus.pk)
    assert counts == {
        "articles": 4,
        "claims": 1 + 15,
        "annotations": 1 + 9,
        "reviewed": 6,
        "claims_tagged": 1 + 6,
        "assignments": 6,  # anna and arjun submitted on each imported article
        "assignments_submitted": 6,
        "articles_submitted": 3,
        "articles_open": 0,  # every assignment the import writes is submitted
    }
    # Each new article's own row, against its rows.
    for article in Article.objects.filter(corpus=team.corpus, title__in=["One", "Two", "Three"]):
        row = ArticleCounts.objects.get(article=article)
        assert (row.claims, row.annotations, row.reviewed, row.claims_tagged) == (5, 3, 2, 2)


def test_the_triggers_count_again_after_an_import_in_the_same_transaction(team):
    before = _triggers()
    with transaction.atomic():
        result = _import(team, _body("One"))
        article = Article.objects.get(pk=result.article_ids[0])
        start = TEXT.index("quickly")
        services.claim_create(
            actor=team.annotator, article=article, role=Role.ANNOTATOR, start=start, end=start + 7
        )
        assert counters.recount(repair=False) == []
    assert _triggers() == before
    assert ArticleCounts.objects.get(article=article).claims == 6
    assert counters.recount(repair=False) == []


@pytest.mark.parametrize("where", ["last line", "first chunk"])
def test_a_failed_import_leaves_the_counters_and_the_triggers_as_they_were(
    team, monkeypatch, where
):
    monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 1)  # chunks written before the error
    _import(team, _body("Before"))
    kept, triggers = _kept(), _triggers()
    bad = _line("Bad")
    bad["claims"][0]["annotations"][0]["stance"] = "maybe"
    lines = [_line("One"), _line("Two"), bad] if where == "last line" else [bad, _line("One")]
    with pytest.raises(imports.ImportFailed):
        _import(team, "\n".join(json.dumps(line) for line in lines).encode())
    assert _kept() == kept and _triggers() == triggers
    assert not Article.objects.filter(title__in=["One", "Two"]).exists()
    # And the triggers count what comes next.
    claim = ClaimFactory(article=team.article)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    assert counters.recount(repair=False) == []


def test_an_error_inside_the_deferred_block_rolls_back_its_rows_and_the_pause(team):
    kept, triggers = _kept(), _triggers()
    with transaction.atomic():
        with pytest.raises(RuntimeError), counters.deferred() as created:
            article = services.article_create(
                actor=team.owner, corpus=team.corpus, role=Role.OWNER, title="T", text="Words."
            )
            created.append(article.pk)
            raise RuntimeError("the writer failed")
        # The caller caught it and goes on in the same transaction: counted as ever.
        assert _triggers() == triggers and _kept() == kept
        ClaimFactory(article=team.article)
        assert counters.recount(repair=False) == []
    assert counters.recount(repair=False) == []


def test_new_article_texts_are_compressed_with_lz4_where_postgresql_has_it(db):
    migration = importlib.import_module("articles.migrations.0014_imports_counts_deferred")
    if connection.vendor == "sqlite":  # no TOAST: the step leaves the table as it is
        schema = "SELECT sql FROM sqlite_master WHERE name = 'articles_article'"
        with connection.cursor() as cursor:
            cursor.execute(schema)
            before = cursor.fetchone()[0]
            migration.text_compression("lz4")(None, SimpleNamespace(connection=connection))
            cursor.execute(schema)
            assert cursor.fetchone()[0] == before
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        has_lz4 = cursor.fetchone()[0]
        cursor.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'articles_article'::regclass AND attname = 'text'"
        )
        # "l": LZ4; a server built without it keeps the default (no method named on the column).
        assert cursor.fetchone()[0] == ("l" if has_lz4 else "")


def test_an_import_inside_a_deferred_block_leaves_it_deferred(team):
    """Nested: the inner block counts its articles and leaves the outer one standing aside."""
    with transaction.atomic(), counters.deferred() as outer:
        result = _import(team, _body("Inner"))
        article = services.article_create(
            actor=team.owner, corpus=team.corpus, role=Role.OWNER, title="Outer", text="Words."
        )
        outer.append(article.pk)
        assert not ArticleCounts.objects.filter(article=article).exists()  # not counted yet
    assert ArticleCounts.objects.get(article_id=result.article_ids[0]).claims == 5
    assert counters.recount(repair=False) == []


def test_the_import_counts_what_it_wrote_without_reading_its_rows_back(team):
    """The writer counts each chunk's articles from its plans (counters.count_written): the
    counter rows come with the chunk, and no query reads the new claims or annotations back."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = _import(team, _body("One", "Two"))
    assert result.articles == 2
    read_back = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and ("FROM articles_annotation" in q["sql"] or "FROM articles_claim" in q["sql"])
    ]
    assert read_back == []
    assert counters.recount(repair=False) == []
    for pk in result.article_ids:
        row = ArticleCounts.objects.get(article_id=pk)
        assert (row.claims, row.annotations, row.reviewed, row.claims_tagged) == (5, 3, 2, 2)
        assert (row.assignments, row.assignments_submitted) == (2, 2)


def test_articles_counted_by_their_writer_and_from_their_rows_in_one_block(team):
    """A deferred block may hold both: articles appended (counted from their rows at the end)
    and articles whose writer counted them (count_written); every counter equals a recount."""
    import io

    from articles.imports import Errors, ImportContext, Writer

    with transaction.atomic(), counters.deferred() as created:
        article = services.article_create(
            actor=team.owner, corpus=team.corpus, role=Role.OWNER, title="By hand", text=TEXT
        )
        claim = ClaimFactory(article=article)
        AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
        created.append(article.pk)
        context = ImportContext(actor=team.owner, corpus=team.corpus)
        writer = Writer(context, created=created)
        errors = Errors()
        for chunk in jsonl_import.plan(context, io.BytesIO(_body("One", "Two")), errors=errors):
            writer.write(chunk)
        assert not errors
        if writer.foreign_keys is not None:
            assert not writer.foreign_keys.paused
        assert created.counted == set(writer.result.article_ids)
        assert list(created) == [article.pk, *writer.result.article_ids]
    assert counters.recount(repair=False) == []
    assert ArticleCounts.objects.get(article=article).annotations == 1
