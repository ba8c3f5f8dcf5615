"""Prepared reads (articles/prepared.py) give what the ORM gives, and the fetchers built on them
answer 404 exactly where the ORM's did."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.utils import timezone

from articles import selectors
from articles.models import Article, Corpus, Membership, Topic
from articles.prepared import Prepared, columns
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.mark.parametrize("role", ["owner", "curator", "annotator", "annotator2", "viewer"])
def test_an_article_with_the_callers_role_as_the_orm_reads_it(team, role):
    user = getattr(team, role)
    article, access = selectors.article_with_access(user, str(team.article.pk))
    expected = Article.objects.select_related("corpus").get(pk=team.article.pk)
    assert _fields(article) == _fields(expected)
    assert _fields(article.corpus) == _fields(expected.corpus) and access.corpus is article.corpus
    assert access.role == Membership.objects.get(corpus=team.corpus, user=user).role
    assert access.user is user and article._state.db == "default" and not article._state.adding


def test_a_corpus_with_the_callers_role_as_the_orm_reads_it(team):
    corpus, access = selectors.corpus_with_access(team.curator, "chips")
    assert _fields(corpus) == _fields(Corpus.objects.get(slug="chips"))
    assert access.role == "curator" and access.corpus is corpus


def test_everyone_else_gets_404(team):
    deleted = ArticleFactory(corpus=team.corpus)
    Article.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    refused = [
        (team.outsider, team.article.pk),  # not a member
        (AnonymousUser(), team.article.pk),
        (team.curator, deleted.pk),  # in the trash
        (team.curator, team.other_article.pk),  # another corpus's
        (team.curator, 10**12),
        (team.curator, "12abc"),
        (team.curator, "-1"),
    ]
    for user, article_id in refused:
        with pytest.raises(Http404):
            selectors.article_with_access(user, article_id)
    for user, slug in [(team.outsider, "chips"), (team.curator, "other"), (team.curator, "")]:
        with pytest.raises(Http404):
            selectors.corpus_with_access(user, slug)
    with pytest.raises(Http404):
        selectors.corpus_with_access(AnonymousUser(), "chips")


def test_rows_are_the_orms_rows_converted_alike(team):
    prepared = Prepared(
        Topic,
        lambda corpus_id, label: (
            Topic.objects.filter(corpus_id=corpus_id, label=label)
            .order_by("pk")
            .values_list(*columns(Topic))
        ),
        int,
        str,
    )
    label = team.topic.label
    expected = list(
        Topic.objects.filter(corpus_id=team.corpus.pk, label=label)
        .order_by("pk")
        .values_list(*columns(Topic))
    )
    assert [tuple(row) for row in prepared.rows(team.corpus.pk, label)] == expected
    assert prepared.rows(team.corpus.pk, "no such label") == []
    with pytest.raises(TypeError):
        prepared.rows(str(team.corpus.pk), label)  # the types are fixed once compiled


def test_an_argument_the_sql_does_not_carry_is_refused(team):
    # e.g. a value the ORM folds into the SQL text instead of a parameter
    ignoring = Prepared(Topic, lambda corpus_id: Topic.objects.values_list("pk"), int)
    with pytest.raises(ImproperlyConfigured):
        ignoring.rows(team.corpus.pk)


def test_a_time_in_the_query_is_refused_not_frozen(team):
    # now() compiled once would keep the first request's time for the process's life
    frozen = Prepared(
        Article,
        lambda corpus_id: Article.objects.filter(
            corpus_id=corpus_id, created_at__lte=timezone.now()
        ).values_list("pk"),
        int,
    )
    with pytest.raises(ImproperlyConfigured, match="date or time"):
        frozen.rows(team.corpus.pk)
