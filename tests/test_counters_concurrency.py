"""The counters stay right when people write at the same moment (real threads, each with its own
database connection): no lost update, no deadlock, and a claim tagged by two people at once
counts once; the members' counters too."""

import pytest

from articles import counters, services
from articles.access import Access
from articles.models import Role

from .factories import AnnotationFactory, ArticleFactory, AssignmentFactory, ClaimFactory
from .test_concurrency import _race

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_tags_trash_and_claims_keep_the_counters_right(team):
    for round_ in range(3):
        claim = ClaimFactory(article=team.article, start=round_, end=round_ + 5)
        other = ClaimFactory(article=team.article, start=20 + round_, end=30 + round_)

        def tag(user, claim=claim):
            return services.annotation_create(
                actor=user, claim=claim, role=Role.ANNOTATOR, stance="support"
            )

        def trash(other=other):
            access = Access(user=team.owner, corpus=team.corpus, role=Role.OWNER)
            return services.claim_delete(access=access, claim=other)

        def tag_other(other=other):
            return services.annotation_create(
                actor=team.curator, claim=other, role=Role.CURATOR, stance="oppose"
            )

        results = _race(lambda: tag(team.annotator), lambda: tag(team.annotator2), trash, tag_other)
        assert not [r for r in results[:3] if isinstance(r, Exception)], results
        assert counters.recount([team.corpus.pk], repair=False) == []
    assert counters.counts_of_corpus(team.corpus.pk)["claims_tagged"] == 3


def test_concurrent_submissions_and_tags_keep_the_members_counters_right(team):
    """Two annotators submit at once each an article the other submitted before (each one's
    submission changes the other's sums: the member rows are locked together, in one order, or
    the two would deadlock), while others tag and trash claims on both articles."""
    team.corpus.blind = True
    team.corpus.save()
    for round_ in range(3):
        first, second = ArticleFactory(corpus=team.corpus), ArticleFactory(corpus=team.corpus)
        AssignmentFactory(article=first, annotator=team.annotator2, state="submitted")
        AssignmentFactory(article=second, annotator=team.annotator, state="submitted")
        claims = [ClaimFactory(article=a, start=round_, end=round_ + 5) for a in (first, second)]
        doomed = ClaimFactory(article=first, start=20, end=30)
        AnnotationFactory(claim=doomed, annotator=team.annotator, topic=team.topic)

        def submit(user, article):
            return lambda: services.article_submit(actor=user, article=article, role=Role.ANNOTATOR)

        def tag(user, claim):
            return lambda: services.annotation_create(
                actor=user, claim=claim, role=Role.CURATOR, stance="support"
            )

        def trash(doomed=doomed):
            access = Access(user=team.owner, corpus=team.corpus, role=Role.OWNER)
            return services.claim_delete(access=access, claim=doomed)

        results = _race(
            submit(team.annotator, first),
            submit(team.annotator2, second),
            tag(team.curator, claims[0]),
            tag(team.curator, claims[1]),
            tag(team.annotator, claims[0]),
            trash,
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        assert counters.recount([team.corpus.pk], repair=False) == []
    mine = counters.counts_of_member(team.corpus.pk, team.annotator.pk)
    assert mine["submitted"] == 6 and mine["sub_annotations"] > 0


def test_concurrent_first_submissions_and_trash_keep_the_articles_with_a_submission_right(team):
    """Two annotators submit the same article at once (its first submission: counted once),
    while a third submits another and the owner trashes an article with a submission."""
    for round_ in range(3):
        shared, other, doomed = (ArticleFactory(corpus=team.corpus) for _ in range(3))
        AssignmentFactory(article=doomed, annotator=team.annotator2, state="submitted")

        def submit(user, article):
            return lambda: services.article_submit(actor=user, article=article, role=Role.ANNOTATOR)

        def trash(doomed=doomed):
            return services.article_delete(actor=team.owner, article=doomed, role=Role.OWNER)

        results = _race(
            submit(team.annotator, shared),
            submit(team.annotator2, shared),
            submit(team.curator, other),
            trash,
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        assert counters.recount([team.corpus.pk], repair=False) == []
        assert counters.counts_of_corpus(team.corpus.pk)["articles_submitted"] == 2 * (round_ + 1)
