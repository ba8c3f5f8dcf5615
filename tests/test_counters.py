"""The counters kept by the database (articles/counters.py) equal a fresh recount after every
kind of write, through every writer, on SQLite and PostgreSQL (CI runs both)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from articles import counters, imports, services
from articles.access import Access
from articles.models import ArticleCounts, Claim, CorpusCounts, Role

from .factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    CorpusFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db(transaction=False)


def _agree(*corpora) -> dict[str, int]:
    """Fails with the differences when a counter is not what a recount says; returns the
    corpus's counters."""
    differences = counters.recount([c.pk for c in corpora], repair=False)
    assert differences == []
    return counters.counts_of_corpus(corpora[0].pk)


def _span(article, word: str) -> tuple[int, int]:
    start = article.text.index(word)
    return start, start + len(word)


def test_every_writer_keeps_the_counters_right(team):
    corpus, article, owner = team.corpus, team.article, team.owner
    assert _agree(corpus, team.other_corpus)["articles"] == 1

    # Articles and claims through the services.
    second = services.article_create(
        actor=owner, corpus=corpus, role=Role.OWNER, title="Second", text="One two three four."
    )
    start, end = _span(article, article.text.split()[0])
    claim = services.claim_create(
        actor=team.annotator, article=article, role=Role.ANNOTATOR, start=start, end=end
    )
    assert _agree(corpus)["claims"] == 1

    # Annotations: the first tags the claim, the second does not tag it again.
    mine = services.annotation_create(
        actor=team.annotator, claim=claim, role=Role.ANNOTATOR, stance="support"
    )
    services.annotation_create(
        actor=team.annotator2, claim=claim, role=Role.ANNOTATOR, stance="oppose"
    )
    counts = _agree(corpus)
    assert (counts["annotations"], counts["claims_tagged"]) == (2, 1)

    # A review, assignments, a submission.
    review = services.review_set(
        actor=team.curator,
        claim=claim,
        role=Role.CURATOR,
        decision="accepted",
        topic=team.topic,
        stance="support",
    )
    services.assignment_create(
        actor=owner, article=article, role=Role.OWNER, annotator=team.annotator
    )
    services.article_submit(actor=team.annotator, article=article, role=Role.ANNOTATOR)
    services.article_submit(actor=team.annotator2, article=second, role=Role.ANNOTATOR)
    counts = _agree(corpus)
    assert (counts["reviewed"], counts["assignments"], counts["assignments_submitted"]) == (
        1,
        2,
        2,
    )

    # Bulk claims with annotations (one span reused).
    items = [
        {"start": start, "end": end, "annotation": {"stance": "neutral"}},
        {"start": 0, "end": 3, "annotation": {"stance": "support"}},
        {"start": 4, "end": 7},
    ]
    services.claims_create_many(actor=owner, article=second, role=Role.OWNER, items=items[1:])
    services.claims_create_many(
        actor=team.curator, article=article, role=Role.CURATOR, items=items[:1]
    )
    counts = _agree(corpus)
    assert (counts["claims"], counts["annotations"], counts["claims_tagged"]) == (3, 4, 2)

    # A claim to the trash and back; an annotation deleted (the claim stays tagged).
    access = Access(user=owner, corpus=corpus, role=Role.OWNER)
    services.claim_delete(access=access, claim=claim)
    counts = _agree(corpus)
    assert (counts["claims"], counts["annotations"], counts["reviewed"]) == (2, 1, 0)
    services.claim_restore(actor=owner, claim=claim, role=Role.OWNER)
    assert _agree(corpus)["annotations"] == 4
    services.annotation_delete(actor=team.annotator, annotation=mine, role=Role.ANNOTATOR)
    counts = _agree(corpus)
    assert (counts["annotations"], counts["claims_tagged"]) == (3, 2)

    # A merge moves annotations and the review onto another claim.
    other = ClaimFactory(article=article, start=start + 1, end=end)
    AnnotationFactory(claim=other, annotator=team.annotator, topic=team.topic)
    services.claim_merge(access=access, claim=claim, into=other, keep={"review": "claim"})
    _agree(corpus)

    # A review undone; an article to the trash, restored, trashed again and purged.
    review.refresh_from_db()
    if review.pk and type(review).objects.filter(pk=review.pk).exists():
        services.review_delete(actor=team.curator, review=review, role=Role.CURATOR)
        _agree(corpus)
    services.article_delete(actor=owner, article=second, role=Role.OWNER)
    counts = _agree(corpus)
    assert counts["articles"] == 1
    second.refresh_from_db()
    services.article_restore(actor=owner, article=second, role=Role.OWNER)
    assert _agree(corpus)["articles"] == 2
    services.article_delete(actor=owner, article=second, role=Role.OWNER)
    second.refresh_from_db()
    services.article_purge(actor=owner, article=second, role=Role.OWNER)
    assert ArticleCounts.objects.filter(article_id=second.pk).count() == 0
    _agree(corpus)

    # A new text that orphans the claims (orphans still count: they are live claims).
    article.refresh_from_db()
    services.article_text_replace(
        actor=owner,
        article=article,
        role=Role.OWNER,
        text="Entirely different words now.",
        version=article.version,
    )
    assert Claim.objects.alive().orphaned().filter(article=article).exists()
    _agree(corpus)

    # The import with spans (COPY on PostgreSQL, executemany on SQLite).
    line = {
        "title": "Imported",
        "text": "Chips are scarce. Labs adapt.",
        "claims": [
            {
                "start": 0,
                "end": 17,
                "annotations": [{"annotator": "anna", "stance": "support"}],
                "review": {"curator": "carmen", "decision": "rejected"},
            },
            {"start": 18, "end": 29},
        ],
    }
    imports.import_file(
        actor=owner,
        corpus=corpus,
        role=Role.OWNER,
        name="a.jsonl",
        data=(json.dumps(line) + "\n" + json.dumps({**line, "title": "Again"})).encode(),
    )
    counts = _agree(corpus)
    assert counts["articles"] == 3

    # Factories (plain ORM writes), and the corpus going away with everything.
    extra = ArticleFactory(corpus=corpus)
    c = ClaimFactory(article=extra)
    AnnotationFactory(claim=c, annotator=team.annotator2, topic=team.topic)
    ReviewFactory(claim=c, curator=team.curator, topic=team.topic)
    AssignmentFactory(article=extra, annotator=team.annotator2)
    _agree(corpus, team.other_corpus)
    services.corpus_delete(actor=owner, corpus=corpus, role=Role.OWNER)
    assert not CorpusCounts.objects.filter(corpus_id=corpus.pk).exists()
    _agree(team.other_corpus)


def test_recount_repairs_and_the_command_reports(team, capsys):
    CorpusCounts.objects.filter(corpus=team.corpus).update(articles=40, claims=7)
    ArticleCounts.objects.filter(article=team.article).delete()
    CorpusCounts.objects.filter(corpus=team.corpus).update(articles=40, claims=7)
    with pytest.raises(SystemExit):
        call_command("recount_corpora", "--check")
    out = capsys.readouterr().out
    assert "chips" in out and "articles" in out
    call_command("recount_corpora")
    assert counters.recount(repair=False) == []
    assert counters.counts_of_corpus(team.corpus.pk)["articles"] == 1


def test_a_new_corpus_starts_at_zero(db):
    corpus = CorpusFactory()
    assert counters.counts_of_corpus(corpus.pk) == dict.fromkeys(("articles", *counters.FIELDS), 0)


def test_triggers_are_installed_on_this_database(db):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%_counts'")
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master "
                "WHERE type='trigger' AND name LIKE 'aa_counts_%%'"
            )
        assert cursor.fetchone()[0] >= 19
