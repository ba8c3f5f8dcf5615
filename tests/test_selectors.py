"""Query budgets: the selectors that feed pages run the same number of queries for 2 rows as for
many (their counts are pinned here so that a later change that adds a query per row fails)."""

import pytest

from articles import selectors

from .factories import (
    AnnotationFactory,
    ArticleFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


def _grow_article(team, n_claims):
    text = team.article.text
    for i in range(n_claims):
        start = i % (len(text) - 10)
        claim = ClaimFactory(article=team.article, start=start, end=start + 8)
        for user in (team.annotator, team.annotator2):
            annotation = AnnotationFactory(claim=claim, annotator=user, topic=team.topic)
            EvidenceFactory(annotation=annotation)
        if i % 2:
            ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
            CommentFactory(claim=claim, author=team.curator)
    claims = list(team.article.claims.all()[:2])
    RelationFactory(source_claim=claims[0], target_claim=claims[1])


def _article_page_reads(team, user):
    article, access = selectors.article_with_access(user, team.article.pk)
    claims = list(selectors.claims_for_article(access, article))
    for claim in claims:
        for annotation in claim.visible_annotations:
            _ = (annotation.annotator.username, annotation.topic.label)
            _ = [e.kind for e in annotation.evidence.all()]
        _ = (getattr(claim, "review", None), claim.has_review, claim.n_annotations)
        _ = (claim.relations_out, claim.relations_in, claim.created_by.username)
    return claims


@pytest.mark.parametrize("n_claims", [2, 60])
def test_article_with_claims_and_annotations_has_a_fixed_query_count(
    team, n_claims, django_assert_num_queries
):
    _grow_article(team, n_claims)
    # article+role, claims, annotations, evidence, relations out, relations in
    with django_assert_num_queries(6):
        claims = _article_page_reads(team, team.curator)
    assert len(claims) == n_claims
    assert all(len(c.visible_annotations) == 2 for c in claims)


@pytest.mark.parametrize("n_claims", [2, 60])
def test_blind_article_read_has_a_fixed_query_count(team, n_claims, django_assert_num_queries):
    team.corpus.blind = True
    team.corpus.save()
    _grow_article(team, n_claims)
    # The same six: whether the annotator submitted the article is a subquery of each read.
    with django_assert_num_queries(6):
        claims = _article_page_reads(team, team.annotator)
    assert all([a.annotator for a in c.visible_annotations] == [team.annotator] for c in claims)


@pytest.mark.parametrize("n_articles", [2, 40])
def test_corpus_articles_with_counts_is_one_query(team, n_articles, django_assert_num_queries):
    for _ in range(n_articles - 1):
        article = ArticleFactory(corpus=team.corpus)
        ClaimFactory(article=article)
    _, access = selectors.corpus_with_access(team.annotator, team.corpus.slug)
    with django_assert_num_queries(1):
        rows = list(selectors.articles_for_corpus(access))
    assert len(rows) == n_articles
    assert sum(r.n_claims for r in rows) == n_articles - 1


@pytest.mark.parametrize("n_corpora", [1, 15])
def test_my_corpora_with_progress_is_one_query(team, n_corpora, django_assert_num_queries):
    from articles.models import Membership

    from .factories import CorpusFactory

    for _ in range(n_corpora - 1):
        Membership.objects.create(corpus=CorpusFactory(), user=team.annotator, role="annotator")
    with django_assert_num_queries(1):
        rows = list(selectors.corpora_for_user(team.annotator))
    assert len(rows) == n_corpora
    assert {r.member_role for r in rows} == {"annotator"}
