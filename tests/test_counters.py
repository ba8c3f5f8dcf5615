"""The counters kept by the database (articles/counters.py) equal a fresh recount after every
kind of write, through every writer, on SQLite and PostgreSQL (CI runs both)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

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
    assert counts["articles_submitted"] == 2

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
    assert (counts["articles"], counts["articles_submitted"]) == (1, 1)
    second.refresh_from_db()
    services.article_restore(actor=owner, article=second, role=Role.OWNER)
    counts = _agree(corpus)
    assert (counts["articles"], counts["articles_submitted"]) == (2, 2)
    services.article_delete(actor=owner, article=second, role=Role.OWNER)
    second.refresh_from_db()
    services.article_purge(actor=owner, article=second, role=Role.OWNER)
    assert ArticleCounts.objects.filter(article_id=second.pk).count() == 0
    assert _agree(corpus)["articles_submitted"] == 1

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
    assert (counts["articles"], counts["articles_submitted"]) == (3, 1)  # none submitted

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
    assert counters.counts_of_corpus(corpus.pk) == dict.fromkeys(counters.CORPUS_FIELDS, 0)


def test_the_articles_with_a_submission_follow_every_writer(team):
    """CorpusCounts.articles_submitted counts the live articles with at least one submitted
    assignment: it moves when an article's first submission arrives or its last one leaves
    (reopened, deleted, moved to another article), and when such an article enters or leaves
    the live ones (trash, restore, purge, another corpus), one row or many per statement."""
    from articles.models import Article, Assignment

    corpus = team.corpus
    first, second, third = (ArticleFactory(corpus=corpus) for _ in range(3))

    def submitted() -> int:
        return _agree(corpus, team.other_corpus)["articles_submitted"]

    assert submitted() == 0
    AssignmentFactory(article=first, annotator=team.annotator2)  # assigned, not submitted
    assert submitted() == 0
    services.article_submit(actor=team.annotator, article=first, role=Role.ANNOTATOR)
    assert submitted() == 1
    services.article_submit(actor=team.annotator2, article=first, role=Role.ANNOTATOR)
    assert submitted() == 1  # a second submission of the same article
    services.article_submit(actor=team.annotator, article=second, role=Role.ANNOTATOR)
    assert submitted() == 2

    # Reopened: one of two submissions, then the other.
    mine = Assignment.objects.filter(article=first, annotator=team.annotator)
    mine.update(state="assigned")
    assert submitted() == 2
    Assignment.objects.filter(article=first).update(state="assigned")
    assert submitted() == 1
    # Many articles' submissions in one statement (some first ones, some not).
    AssignmentFactory(article=third, annotator=team.annotator2)
    Assignment.objects.filter(article__corpus=corpus).update(state="submitted")
    assert submitted() == 3
    # Submitted assignments deleted, and moved to another article.
    Assignment.objects.filter(article=third).delete()
    assert submitted() == 2
    Assignment.objects.filter(article=second).update(article=third)
    assert submitted() == 2
    Assignment.objects.filter(article=first, annotator=team.annotator2).update(article=second)
    assert submitted() == 3
    Assignment.objects.filter(article=first).delete()
    assert submitted() == 2  # second and third

    # An article with submissions to the trash and back, to another corpus and back, purged.
    services.article_delete(actor=team.owner, article=third, role=Role.OWNER)
    assert submitted() == 1
    third.refresh_from_db()
    services.article_restore(actor=team.owner, article=third, role=Role.OWNER)
    assert submitted() == 2
    Article.objects.filter(pk=third.pk).update(corpus=team.other_corpus)
    assert submitted() == 1
    assert counters.counts_of_corpus(team.other_corpus.pk)["articles_submitted"] == 1
    Article.objects.filter(pk=third.pk).update(corpus=corpus)
    # A submission on a trashed article counts when it comes back, not before.
    services.article_delete(actor=team.owner, article=first, role=Role.OWNER)
    services.article_submit(actor=team.annotator, article=first, role=Role.ANNOTATOR)
    assert submitted() == 2
    first.refresh_from_db()
    services.article_restore(actor=team.owner, article=first, role=Role.OWNER)
    assert submitted() == 3
    services.article_delete(actor=team.owner, article=third, role=Role.OWNER)
    third.refresh_from_db()
    services.article_purge(actor=team.owner, article=third, role=Role.OWNER)
    assert submitted() == 2
    # Several articles to the trash and back in one statement each.
    Article.objects.filter(corpus=corpus).update(deleted_at=timezone.now())
    assert submitted() == 0
    Article.objects.filter(corpus=corpus).update(deleted_at=None)
    assert submitted() == 2


def test_recount_repairs_the_articles_with_a_submission(team):
    services.article_submit(actor=team.annotator, article=team.article, role=Role.ANNOTATOR)
    CorpusCounts.objects.filter(corpus=team.corpus).update(articles_submitted=5)
    assert [(d.table, d.field, d.kept, d.counted) for d in counters.recount(repair=False)] == [
        ("corpus", "articles_submitted", 5, 1)
    ]
    counters.recount()
    assert counters.counts_of_corpus(team.corpus.pk)["articles_submitted"] == 1


def test_the_migration_counts_the_articles_with_a_submission(team):
    from articles.models import Assignment

    services.article_submit(actor=team.annotator, article=team.article, role=Role.ANNOTATOR)
    gone = ArticleFactory(corpus=team.corpus)
    AssignmentFactory(article=gone, annotator=team.annotator2, state="submitted")
    services.article_delete(actor=team.owner, article=gone, role=Role.OWNER)
    AssignmentFactory(article=ArticleFactory(corpus=team.corpus), annotator=team.annotator)
    assert Assignment.objects.filter(state="submitted").count() == 2
    CorpusCounts.objects.update(articles_submitted=0)
    counters.fill_submitted()
    assert counters.counts_of_corpus(team.corpus.pk)["articles_submitted"] == 1
    assert counters.recount(repair=False) == []


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


# --- What each member reads: the counters give what counting the visible rows gives -----------


def _reference(user, corpus) -> dict[str, int]:
    """The corpus counts counted from the rows the member may see (access.visible_q): what the
    selectors gave before the counters."""
    from articles.access import Kind, visible_q
    from articles.models import Annotation, Article, Assignment, Review

    live = {"claim__deleted_at__isnull": True, "claim__article__corpus": corpus}
    annotations = Annotation.objects.filter(visible_q(Kind.ANNOTATION, user_id=user.pk), **live)
    assignments = Assignment.objects.filter(
        visible_q(Kind.ASSIGNMENT, user_id=user.pk),
        article__corpus=corpus,
        article__deleted_at__isnull=True,
    )
    return {
        "n_articles": Article.objects.alive().filter(corpus=corpus).count(),
        "n_claims": Claim.objects.alive().filter(article__corpus=corpus).count(),
        "n_annotations": annotations.count(),
        "n_reviewed": Review.objects.filter(
            visible_q(Kind.REVIEW, user_id=user.pk), **live
        ).count(),
        "n_claims_tagged": annotations.values("claim").distinct().count(),
        "n_assignments": assignments.count(),
        "n_assignments_submitted": assignments.filter(state="submitted").count(),
    }


def _busy_corpus(team) -> None:
    """Work by everyone on three articles; anna submits one, arjun another."""
    articles = [
        team.article,
        ArticleFactory(corpus=team.corpus),
        ArticleFactory(corpus=team.corpus),
    ]
    for i, article in enumerate(articles):
        for j in range(3):
            claim = ClaimFactory(article=article, start=j, end=j + 4)
            for user in (team.annotator, team.annotator2)[: (i + j) % 3]:
                AnnotationFactory(claim=claim, annotator=user, topic=team.topic)
            if j == 1:
                ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
        AssignmentFactory(article=article, annotator=team.annotator2)
    AssignmentFactory(article=articles[0], annotator=team.annotator)
    AssignmentFactory(article=articles[2], annotator=team.annotator)
    services.article_submit(actor=team.annotator, article=articles[2], role=Role.ANNOTATOR)
    services.article_submit(actor=team.annotator2, article=articles[1], role=Role.ANNOTATOR)
    services.article_delete(
        actor=team.owner, article=ArticleFactory(corpus=team.corpus), role=Role.OWNER
    )


@pytest.mark.parametrize("blind", [False, True], ids=["open", "blind"])
@pytest.mark.parametrize("role", ["annotator", "annotator2", "curator", "viewer", "owner"])
def test_every_member_reads_what_counting_their_visible_rows_gives(team, role, blind):
    from articles import selectors

    team.corpus.blind = blind
    team.corpus.save()
    _busy_corpus(team)
    user = getattr(team, role)
    row = next(c for c in selectors.corpora_for_dashboard(user) if c.pk == team.corpus.pk)
    expected = _reference(user, team.corpus)
    assert {name: getattr(row, name) for name in expected} == expected
    detail, access = selectors.corpus_detail_with_access(user, "chips")
    assert access.role == row.member_role
    # The detail's figures (its own queries, chosen by the role) are the dashboard's.
    shown = ("n_articles", "n_claims", "n_annotations", "n_reviewed", "n_my_assigned")
    assert {name: getattr(detail, name) for name in (*shown, "n_my_submitted")} == {
        name: getattr(row, name) for name in (*shown, "n_my_submitted")
    }


def test_a_blind_annotators_counts_do_not_move_when_others_work(team):
    from articles import selectors

    team.corpus.blind = True
    team.corpus.save()

    def seen():
        row = next(iter(selectors.corpora_for_dashboard(team.annotator)))
        return {k: v for k, v in vars(row).items() if k.startswith("n_")}

    before = seen()
    _busy_corpus(team)  # anna submits an article: hers to see from then on
    after_own = seen()
    claim = ClaimFactory(article=team.article, start=20, end=30)
    AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
    ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
    AssignmentFactory(article=team.article, annotator=team.curator)
    after_others = seen()
    # Claims are shared (a new span shows); nothing else that others did moves her figures.
    assert after_others == {**after_own, "n_claims": after_own["n_claims"] + 1}
    assert before["n_annotations"] == 0


def test_the_corpus_page_takes_its_total_from_the_counter_unless_filtered(team, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        ArticleFactory(corpus=team.corpus, title="Tariffs")
    client.force_login(team.owner)
    counting = 'SELECT COUNT(*) AS "__count" FROM "articles_article"'
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/corpora/chips/")
    assert "4 articles" in page.content.decode()
    assert not any(counting in q["sql"] for q in queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/corpora/chips/?q=Tariffs")
    assert "3 articles" in page.content.decode()
    assert any(counting in q["sql"] for q in queries.captured_queries)


def _queries_of(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("blind", [False, True], ids=["open", "blind"])
@pytest.mark.parametrize("role", ["annotator", "owner"])
def test_the_dashboard_and_corpus_page_query_counts_do_not_grow(team, client, role, blind):
    team.corpus.blind = blind
    team.corpus.save()
    client.force_login(getattr(team, role))
    seen = []
    for n in (2, 30):
        while team.corpus.articles.count() < n:
            article = ArticleFactory(corpus=team.corpus)
            claim = ClaimFactory(article=article)
            AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
            AssignmentFactory(article=article, annotator=team.annotator)
        seen.append((_queries_of(client, "/"), _queries_of(client, "/corpora/chips/")))
    assert seen[0] == seen[1] == PAGE_QUERIES[role]


# The session and user, then: the dashboard's one query; the corpus page's corpus with role,
# the article total (the counter), the page of articles with counts, topics, members (bulk
# actions and export menu, owners), and what the role's menus need.
PAGE_QUERIES = {"annotator": (3, 6), "owner": (3, 8)}


@pytest.mark.parametrize("status", ["submitted", "unsubmitted"])
@pytest.mark.parametrize("role", ["owner", "curator", "annotator"])
def test_the_status_pages_of_those_who_see_every_assignment_count_from_the_counter(
    team, client, role, status
):
    """In a corpus that is not blind, "submitted by someone" and "by no one" are counted by
    CorpusCounts.articles_submitted (no COUNT of the list), a trashed article with a submission
    left out; the page's queries do not grow with the corpus."""
    from django.test.utils import CaptureQueriesContext

    trashed = ArticleFactory(corpus=team.corpus)
    AssignmentFactory(article=trashed, annotator=team.annotator2, state="submitted")
    services.article_delete(actor=team.owner, article=trashed, role=Role.OWNER)
    client.force_login(getattr(team, role))
    seen = []
    made = 0
    for n in (4, 30):  # the first size has articles with and without a submission
        while team.corpus.articles.count() < n:
            article = ArticleFactory(corpus=team.corpus)
            if made % 3 != 2:
                AssignmentFactory(article=article, annotator=team.annotator2, state="submitted")
            else:
                AssignmentFactory(article=article, annotator=team.annotator)
            made += 1
        live = team.corpus.articles.filter(deleted_at__isnull=True)
        with_submission = live.filter(assignments__state="submitted").distinct().count()
        expected = with_submission if status == "submitted" else live.count() - with_submission
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/corpora/chips/?status={status}")
        assert f"{expected} article" in page.content.decode()
        assert not any(
            'SELECT COUNT(*) AS "__count" FROM "articles_article"' in q["sql"]
            for q in queries.captured_queries
        )
        seen.append(len(queries))
    assert seen[0] == seen[1] == STATUS_PAGE_QUERIES[role]


# As the unfiltered page (PAGE_QUERIES), the count read from the corpus's counter row.
STATUS_PAGE_QUERIES = {"owner": 8, "curator": 7, "annotator": 6}
