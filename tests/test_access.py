"""The blind rule, evaluated two ways, is one rule.

`Access.visible(kind)` knows the member's role and the corpus's blindness in advance (one corpus:
the pages, the API); `access.visible_q(kind, user_id=...)` with role and blind left unknown lets
the database decide them row by row (reads across corpora: the corpus list, the dashboard). Over
generated worlds (several corpora, blind or not, each user holding any role or none in each, any
assignment state on each article, anyone's work on any claim) both select exactly the same rows
of every kind, and those rows are the ones the rule of DESIGN.md names; so do both when asked
whether the member submitted an article row by row (`few`, for a page's reads). The counts that
the list selectors show are counts of those rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import transaction
from django.db.models import OuterRef
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from articles import selectors
from articles.access import Kind, visible_q
from articles.filters.pages import CorpusArticleFilterSet
from articles.models import (
    Annotation,
    Assignment,
    AssignmentState,
    Comment,
    Evidence,
    Membership,
    Relation,
    Review,
    Role,
)

from .factories import ArticleFactory, ClaimFactory, CorpusFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

N_CORPORA = 3
N_USERS = 5
N_ARTICLES = 2  # per corpus
N_CLAIMS = 2  # per article

ROLES = (None, Role.OWNER, Role.CURATOR, Role.ANNOTATOR, Role.VIEWER)
STATES = (None, AssignmentState.ASSIGNED, AssignmentState.SUBMITTED)


@dataclass(frozen=True)
class World:
    """Indices: corpus c, user u, article a (of its corpus), claim k (of its article)."""

    blind: tuple  # [c] -> bool
    roles: tuple  # [c][u] -> role or None (not a member)
    states: tuple  # [c][a][u] -> assignment state or None (no assignment)
    annotators: tuple  # [c][a][k] -> users who tagged the claim (each tag with one evidence)
    commenters: tuple  # [c][a][k] -> users who commented on the claim
    relators: tuple  # [c][a] -> users who related the article's first claim to its second
    reviewed: tuple  # [c][a][k] -> whether a curator decided the claim


def _grid(strategy, *shape):
    for n in reversed(shape):
        strategy = st.lists(strategy, min_size=n, max_size=n).map(tuple)
    return strategy


_users = st.frozensets(st.integers(0, N_USERS - 1))
worlds = st.builds(
    World,
    blind=_grid(st.booleans(), N_CORPORA),
    roles=_grid(st.sampled_from(ROLES), N_CORPORA, N_USERS),
    states=_grid(st.sampled_from(STATES), N_CORPORA, N_ARTICLES, N_USERS),
    annotators=_grid(_users, N_CORPORA, N_ARTICLES, N_CLAIMS),
    commenters=_grid(_users, N_CORPORA, N_ARTICLES, N_CLAIMS),
    relators=_grid(_users, N_CORPORA, N_ARTICLES),
    reviewed=_grid(st.booleans(), N_CORPORA, N_ARTICLES, N_CLAIMS),
)

_EVERYONE = frozenset(range(N_USERS))
_EACH_ROLE = (Role.OWNER, Role.CURATOR, Role.ANNOTATOR, Role.VIEWER, Role.ANNOTATOR)
# Every role x blind x submitted combination: corpus 0 is open, 1 and 2 are blind; in 0 and 1
# users 0-4 hold every role; everyone submitted article 0 and not article 1 (assigned, or for
# user 4 no assignment at all); everyone did every kind of work on every claim. Corpus 2 gives
# the same users other roles, so that a role in one corpus cannot stand in for another's.
COVERING = World(
    blind=(False, True, True),
    roles=(_EACH_ROLE, _EACH_ROLE, (Role.ANNOTATOR, Role.VIEWER, Role.CURATOR, None, Role.OWNER)),
    states=tuple(
        (
            (AssignmentState.SUBMITTED,) * N_USERS,
            (AssignmentState.ASSIGNED,) * (N_USERS - 1) + (None,),
        )
        for _ in range(N_CORPORA)
    ),
    annotators=(((_EVERYONE,) * N_CLAIMS,) * N_ARTICLES,) * N_CORPORA,
    commenters=(((_EVERYONE,) * N_CLAIMS,) * N_ARTICLES,) * N_CORPORA,
    relators=((_EVERYONE,) * N_ARTICLES,) * N_CORPORA,
    reviewed=(((True, False),) * N_ARTICLES,) * N_CORPORA,
)


def build(world: World) -> list:
    """The world in the database; returns every user (the corpora's founder-owner first)."""
    founder = UserFactory()
    users = [UserFactory() for _ in range(N_USERS)]
    for c in range(N_CORPORA):
        corpus = CorpusFactory(created_by=founder, blind=world.blind[c])  # founder: owner
        topic = TopicFactory(corpus=corpus)
        Membership.objects.bulk_create(
            Membership(corpus=corpus, user=users[u], role=role)
            for u, role in enumerate(world.roles[c])
            if role
        )
        for a in range(N_ARTICLES):
            article = ArticleFactory(corpus=corpus)
            Assignment.objects.bulk_create(
                Assignment(article=article, annotator=users[u], state=state)
                for u, state in enumerate(world.states[c][a])
                if state
            )
            claims = [
                ClaimFactory(article=article, start=0, end=40),
                ClaimFactory(article=article, start=42, end=85),
            ]
            for k, claim in enumerate(claims):
                tags = Annotation.objects.bulk_create(
                    Annotation(claim=claim, annotator=users[u], topic=topic, stance="support")
                    for u in sorted(world.annotators[c][a][k])
                )
                Evidence.objects.bulk_create(
                    Evidence(annotation=tag, kind="source", url="https://example.org/r")
                    for tag in tags
                )
                Comment.objects.bulk_create(
                    Comment(claim=claim, author=users[u], text="Hm.")
                    for u in sorted(world.commenters[c][a][k])
                )
                if world.reviewed[c][a][k]:
                    Review.objects.create(
                        claim=claim,
                        curator=founder,
                        decision="accepted",
                        topic=topic,
                        stance="oppose",
                    )
            Relation.objects.bulk_create(
                Relation(
                    source_claim=claims[0],
                    target_claim=claims[1],
                    kind="supports",
                    created_by=users[u],
                )
                for u in sorted(world.relators[c][a])
            )
    return [founder, *users]


# kind: (model, field of the row's author or None, path from the row to its article)
KINDS = {
    Kind.ANNOTATION: (Annotation, "annotator_id", "claim__article"),
    Kind.EVIDENCE: (Evidence, "annotation__annotator_id", "annotation__claim__article"),
    Kind.RELATION: (Relation, "created_by_id", "source_claim__article"),
    Kind.COMMENT: (Comment, "author_id", "claim__article"),
    Kind.ASSIGNMENT: (Assignment, "annotator_id", "article"),
    Kind.REVIEW: (Review, None, "claim__article"),
}
SEES_ALL = {Role.OWNER, Role.CURATOR, Role.VIEWER}
NOBODY = -1  # the author of a row that is nobody's own


def rule(kind: Kind, *, role: str, blind: bool, own: bool, submitted: bool) -> bool:
    """DESIGN.md in plain Python: curators, owners and viewers see everything; an annotator sees
    others' work on an article of a blind corpus, and curators' reviews of an article of any
    corpus, only once they have submitted it."""
    if role in SEES_ALL:
        return True
    if kind is Kind.REVIEW:
        return submitted
    return not blind or own or submitted


def _pks(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def check(users: list) -> int:
    """Asserts the agreement for every member of every corpus; returns the number of
    (member, kind) pairs checked."""
    submitted = set(
        Assignment.objects.filter(state=AssignmentState.SUBMITTED).values_list(
            "annotator_id", "article_id"
        )
    )
    checked = 0
    for user in users:
        across = {kind: _pks(model.objects.filter(visible_q(kind, user_id=user.pk)))
                  for kind, (model, _, _) in KINDS.items()}  # fmt: skip
        for membership in Membership.objects.filter(user=user).select_related("corpus"):
            corpus = membership.corpus
            _, access = selectors.corpus_with_access(user, corpus.slug)
            assert access.role == membership.role
            for kind, (model, author, article) in KINDS.items():
                rows = model.objects.filter(**{f"{article}__corpus": corpus})
                per_corpus = _pks(rows.filter(access.visible(kind)))
                where = (user.username, corpus.blind, access.role, kind)
                assert per_corpus == across[kind] & _pks(rows), where
                # Asked row by row (a page's counts) the rule selects the same rows.
                assert _pks(rows.filter(access.visible(kind, few=True))) == per_corpus, where
                few_across = model.objects.filter(visible_q(kind, user_id=user.pk, few=True))
                assert _pks(few_across) & _pks(rows) == per_corpus, where
                # Whether an article holds a visible row, one EXISTS per way of being visible
                # (a filtered page): the articles of exactly the visible rows.
                holding = model.objects.filter(**{article: OuterRef("pk")})
                found = corpus.articles.filter(access.visible_exists(kind, holding))
                visible_articles = set(
                    rows.filter(access.visible(kind)).values_list(f"{article}_id", flat=True)
                )
                assert _pks(found) == visible_articles, where
                fields = ["pk", f"{article}_id", author or "pk"]
                expected = {
                    pk
                    for pk, article_id, author_id in rows.values_list(*fields)
                    if rule(
                        kind,
                        role=access.role,
                        blind=corpus.blind,
                        own=author is not None and author_id == user.pk,
                        submitted=(user.pk, article_id) in submitted,
                    )
                }
                assert per_corpus == expected, where
                for article_obj in corpus.articles.all():
                    done = (user.pk, article_obj.pk) in submitted
                    sees_all = rule(
                        kind, role=access.role, blind=corpus.blind, own=False, submitted=done
                    )
                    assert access.sees_all_on(article_obj, kind) is sees_all, (*where, done)
                    assert access.sees_all_on(article_obj, kind, submitted=done) is sees_all
                checked += 1
    return checked


def check_counts(users: list) -> None:
    """The list selectors count exactly the rows the caller may see."""
    for user in users:
        for corpus in selectors.corpora_for_dashboard(user):
            _, access = selectors.corpus_with_access(user, corpus.slug)
            annotations = Annotation.objects.filter(
                access.visible(Kind.ANNOTATION), claim__article__corpus=corpus
            )
            reviews = Review.objects.filter(
                access.visible(Kind.REVIEW), claim__article__corpus=corpus
            )
            assignments = Assignment.objects.filter(
                access.visible(Kind.ASSIGNMENT), article__corpus=corpus
            )
            where = (user.username, corpus.blind, access.role)
            assert corpus.member_role == access.role, where
            assert corpus.n_annotations == annotations.count(), where
            assert corpus.n_reviewed == reviews.count(), where
            assert corpus.n_claims_tagged == annotations.values("claim").distinct().count(), where
            assert corpus.n_assignments == assignments.count(), where
            assert corpus.n_assignments_submitted == (
                assignments.filter(state=AssignmentState.SUBMITTED).count()
            ), where
            check_status_filters(access)
            for article in selectors.articles_for_corpus(access):
                assert article.n_annotations == annotations.filter(claim__article=article).count()
                assert article.n_reviewed == reviews.filter(claim__article=article).count()
                mine = assignments.filter(article=article)
                assert article.n_assigned == mine.count()
                assert article.n_submitted == mine.filter(state=AssignmentState.SUBMITTED).count()


# The corpus page's filters (value: which listed articles each keeps, by the counts shown).
STATUS_KEPT = {
    "todo": lambda a: a.my_state != AssignmentState.SUBMITTED,
    "mine-submitted": lambda a: a.my_state == AssignmentState.SUBMITTED,
    "submitted": lambda a: a.n_submitted > 0,
    "unsubmitted": lambda a: a.n_submitted == 0,
}


def check_status_filters(access) -> None:
    """Each status filter of the corpus page keeps the articles its counts promise (the
    filters are EXISTS probes, the counts correlated counts: they must agree)."""
    listed = list(selectors.articles_for_corpus(access))
    where = (access.user.username, access.corpus.blind, access.role)
    for value, kept in STATUS_KEPT.items():
        filters = CorpusArticleFilterSet(
            {"status": value}, selectors.articles_for_corpus(access), access=access
        )
        assert _pks(filters.qs) == {a.pk for a in listed if kept(a)}, (*where, value)
        # The page's count from the counters (every status, for every role) is the list's
        # length: for those who see every assignment "submitted by someone" is the corpus's
        # articles_submitted, "by no one" its other live articles.
        counted = filters.counted()
        assert counted == sum(1 for a in listed if kept(a)), (*where, value)
    mine = CorpusArticleFilterSet(
        {"mine": "1"}, selectors.articles_for_corpus(access), access=access
    )
    assert _pks(mine.qs) == {a.pk for a in listed if a.my_state is not None}, where
    assert mine.counted() == sum(1 for a in listed if a.my_state is not None), where
    # With another filter beside it the page counts the list itself.
    both = CorpusArticleFilterSet(
        {"mine": "1", "status": "todo"}, selectors.articles_for_corpus(access), access=access
    )
    assert both.counted() is None, where
    searched = CorpusArticleFilterSet(
        {"q": "a", "status": "todo"}, selectors.articles_for_corpus(access), access=access
    )
    assert searched.counted() is None, where


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(world=COVERING)
@given(world=worlds)
def test_per_corpus_and_cross_corpus_rules_select_the_same_rows(db, world):
    with transaction.atomic():
        users = build(world)
        assert check(users) > 0
        check_counts(users)
        transaction.set_rollback(True)


def test_the_covering_world_covers_every_role_blind_and_submitted_combination(db):
    """The explicit example above does reach every case of the rule, for every kind."""
    seen = set()
    with transaction.atomic():
        users = build(COVERING)
        submitted = set(
            Assignment.objects.filter(state=AssignmentState.SUBMITTED).values_list(
                "annotator_id", "article_id"
            )
        )
        for membership in Membership.objects.select_related("corpus"):
            for article in membership.corpus.articles.all():
                done = (membership.user_id, article.pk) in submitted
                seen.add((membership.role, membership.corpus.blind, done))
        assert len(users) == N_USERS + 1
        transaction.set_rollback(True)
    everything = {(r, b, s) for r in Role for b in (False, True) for s in (False, True)}
    assert seen == everything
