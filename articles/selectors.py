"""Every read that feeds a page, a serializer or an export, scoped to the requesting user.

`*_with_access` functions answer Http404 for anything the user is not a member of (no existence
leaks) and return the object with the caller's `Access` (access.py), built from the role fetched in
the same query. Everything that shows people's work is filtered by `access.visible(kind)`: the
blind rule is written there once. List selectors own their select_related/prefetch_related so
that query counts do not grow with the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import router
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Substr
from django.http import Http404

from .access import SEES_ALL_ROLES, Access, Kind
from .member_counters import MEMBER_FIELDS
from .models import (
    Annotation,
    ApiToken,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Comment,
    Corpus,
    CorpusCounts,
    Evidence,
    Guidelines,
    Invitation,
    Membership,
    Relation,
    Review,
    Topic,
)
from .prepared import Prepared, columns, instance


def parse_id(value: Any) -> int:
    """Ids are opaque strings to clients; anything that is not one of ours is simply not found."""
    try:
        number = int(str(value), 10)
    except (TypeError, ValueError):
        raise Http404("Not found.") from None
    if number <= 0 or number > 2**63 - 1:
        raise Http404("Not found.")
    return number


def _role_in(corpus_ref: str, user) -> Subquery:
    return Subquery(
        Membership.objects.filter(corpus=OuterRef(corpus_ref), user=user).values("role")[:1]
    )


def _count(queryset: QuerySet, outer_field: str) -> Coalesce:
    """A correlated COUNT(*) subquery (avoids the row blow-up of several Count() joins)."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _require_user(user) -> None:
    if user is None or not user.is_authenticated:
        raise Http404("Not found.")


def _fetch_with_access(user, queryset: QuerySet, corpus_ref: str, pk: Any, missing: str):
    """One row of `queryset` with the user's role in its corpus, in one query; Http404 when there
    is no such row or the user is not a member of its corpus."""
    _require_user(user)
    obj = (
        queryset.annotate(_member_role=_role_in(corpus_ref, user))
        .filter(pk=pk, _member_role__isnull=False)
        .first()
    )
    if obj is None:
        raise Http404(missing)
    return obj, obj.__dict__.pop("_member_role")


# --- Corpora -------------------------------------------------------------------------------


def _kept(field: str) -> Coalesce:
    """A corpus's counter (CorpusCounts, kept by the database: articles/counters.py)."""
    return Coalesce(F(f"counts__{field}"), Value(0))


def _mine(field: str) -> Coalesce:
    """One of the member's own figures (MemberCounts, kept by the database:
    articles/member_counters.py), through the membership the corpus queryset is filtered by."""
    return Coalesce(F(f"memberships__counts__{field}"), Value(0))


def _counted_for_user() -> dict[str, Any]:
    """The corpus counts a member may see, from the counters (no scan of the corpus, nor of the
    member's own rows): the whole corpus's where they see everyone's work of that kind
    (access.visible_q says who), else their own work plus the sums of the counters of the
    articles they submitted. Expects `member_role` annotated and the corpora filtered by the
    user's membership."""
    sees_all = Q(member_role__in=SEES_ALL_ROLES)
    sees_all_work = sees_all | Q(blind=False)  # annotations, assignments: blind_only kinds

    def visible(field: str, *, when: Q, own: Any = None) -> Case:
        mine = _mine(f"sub_{field}")
        return Case(
            When(when, then=_kept(field)),
            default=mine if own is None else own + mine,
            output_field=IntegerField(),
        )

    my_tags = _mine("tags")
    my_open = _mine("assigned") - _mine("submitted")
    return {
        "n_annotations": visible("annotations", when=sees_all_work, own=my_tags),
        "n_reviewed": visible("reviewed", when=sees_all),
        "n_claims_tagged": visible("claims_tagged", when=sees_all_work, own=my_tags),
        "n_assignments": visible("assignments", when=sees_all_work, own=my_open),
        "n_assignments_submitted": visible("assignments_submitted", when=sees_all_work),
    }


def corpora_for_user(user) -> QuerySet[Corpus]:
    """The corpora the user is a member of, with their role (`member_role`, for display) and
    progress counts; the counts include only the work the user may see in each corpus, and
    come from the counters the database keeps (none of them counts rows: the corpus's from
    CorpusCounts, the member's own from MemberCounts, joined through the membership)."""
    if not user.is_authenticated:
        return Corpus.objects.none()
    counted = _counted_for_user()
    return (
        Corpus.objects.filter(memberships__user=user)
        .annotate(member_role=F("memberships__role"))
        .annotate(
            n_articles=_kept("articles"),
            n_claims=_kept("claims"),
            n_annotations=counted["n_annotations"],
            n_my_assigned=_mine("assigned"),
            n_my_submitted=_mine("submitted"),
            n_reviewed=counted["n_reviewed"],
        )
        .order_by("name")
    )


# The reads every request of a corpus or an article starts with: prepared (compiled once), as
# they run before every API answer. Memberships are unique per (corpus, user): one row at most.
_CORPUS_WITH_ROLE = Prepared(
    Corpus,
    lambda slug, user_id: (
        Corpus.objects.filter(slug=slug, memberships__user_id=user_id)
        .order_by()
        .values_list(*columns(Corpus), "memberships__role")[:1]
    ),
    str,
    int,
)
_ARTICLE_WITH_ROLE = Prepared(
    Article,
    lambda article_id, user_id: (
        Article.objects.alive()
        .filter(pk=article_id, corpus__memberships__user_id=user_id)
        .order_by()
        .values_list(*columns(Article), *columns(Corpus, "corpus__"), "corpus__memberships__role")[
            :1
        ]
    ),
    int,
    int,
)
_ARTICLE_FIELDS = len(Article._meta.concrete_fields)
Read = tuple[str, list]  # a prepared read's database alias and rows


def corpus_with_access(user, slug: str, *, read: Read | None = None) -> tuple[Corpus, Access]:
    """One of the user's corpora and their access to it, or Http404. (`read`: the rows of
    `_CORPUS_WITH_ROLE` for this user and slug, already read with the caller's token.)"""
    _require_user(user)
    alias, rows = read or _CORPUS_WITH_ROLE.read(str(slug), int(user.pk))
    if not rows:
        raise Http404("No corpus with that name among yours.")
    corpus = instance(Corpus, alias, rows[0][:-1])
    return corpus, Access(user=user, corpus=corpus, role=rows[0][-1])


def topics_for_corpus(corpus: Corpus) -> QuerySet[Topic]:
    return Topic.objects.filter(corpus=corpus).order_by("position", "id")


def members_for_corpus(corpus: Corpus) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(corpus=corpus).select_related("user").order_by("user__username")
    )


def topic_with_access(user, topic_id: Any) -> tuple[Topic, Access]:
    topic, role = _fetch_with_access(
        user,
        Topic.objects.select_related("corpus"),
        "corpus",
        parse_id(topic_id),
        "Topic not found.",
    )
    return topic, Access(user=user, corpus=topic.corpus, role=role)


# --- Articles ------------------------------------------------------------------------------


def article_with_access(
    user, article_id: Any, *, read: Read | None = None
) -> tuple[Article, Access]:
    """A live article of one of the user's corpora (with its corpus) and their access to it,
    or Http404. (`read`: the rows of `_ARTICLE_WITH_ROLE` for this user and article, already
    read with the caller's token.)"""
    pk = parse_id(article_id)
    _require_user(user)
    alias, rows = read or _ARTICLE_WITH_ROLE.read(pk, int(user.pk))
    if not rows:
        raise Http404("Article not found.")
    row = rows[0]
    article = instance(Article, alias, row[:_ARTICLE_FIELDS])
    corpus = instance(Corpus, alias, row[_ARTICLE_FIELDS:-1])
    Article._meta.get_field("corpus").set_cached_value(article, corpus)
    return article, Access(user=user, corpus=corpus, role=row[-1])


User = get_user_model()

# --- The same two reads joined to the caller's API token -----------------------------------

# Every request with an API token reads the token with its user (articles/api/auth.py), then
# what its URL names with the caller's role: two round trips. With the token these reads are
# one: the rows above (the object with the role of each token's user who is a member), each
# followed by the token's columns and its user's. The token is checked on its own columns as
# knox checks it; the view's fetch then takes the object from its row (api/base.py).
_VIA_TOKEN = "memberships__user__auth_token_set__"  # noqa: S105 (a path, not a secret)
_VIA_USER = "memberships__user__"


def _with_token(via: str) -> tuple[str, ...]:
    return (*columns(ApiToken, via + _VIA_TOKEN), *columns(User, via + _VIA_USER))


_READS_WITH_TOKEN: dict[Any, tuple[Prepared, Callable[[Any], Any], type[Model]]] = {
    article_with_access: (
        Prepared(
            ApiToken,  # read where tokens are read: the primary
            lambda article_id, key: (
                Article.objects.alive()
                .filter(pk=article_id, corpus__memberships__user__auth_token_set__token_key=key)
                .order_by()
                .values_list(
                    *columns(Article),
                    *columns(Corpus, "corpus__"),
                    "corpus__memberships__role",
                    *_with_token("corpus__"),
                )
            ),
            int,
            str,
        ),
        parse_id,
        Article,
    ),
    corpus_with_access: (
        Prepared(
            ApiToken,
            lambda slug, key: (
                Corpus.objects.filter(slug=slug, memberships__user__auth_token_set__token_key=key)
                .order_by()
                .values_list(*columns(Corpus), "memberships__role", *_with_token(""))
            ),
            str,
            str,
        ),
        str,
        Corpus,
    ),
}
_TOKEN_COLUMNS = len(_with_token(""))


def read_with_token(
    fetcher: Any, value: Any, key: str
) -> tuple[str, list[tuple[Sequence, Sequence]]] | None:
    """What `fetcher(user, value)` reads, for every user holding a token with `key`, in one
    query with the token: the database it read and a list of (the fetcher's row, the token's
    and its user's columns). None when `fetcher` has no such read, when `value` names nothing
    it could find, or when the object is read from another database than tokens (a replica)."""
    known = _READS_WITH_TOKEN.get(fetcher)
    if known is None:
        return None
    read, parse, model = known
    if router.db_for_read(model) != router.db_for_read(ApiToken):
        return None
    try:
        argument = parse(value)
    except Http404:
        return None
    alias, rows = read.read(argument, key)
    return alias, [(row[:-_TOKEN_COLUMNS], row[-_TOKEN_COLUMNS:]) for row in rows]


def has_submitted(*, user, article: Article) -> bool:
    return Assignment.objects.filter(
        article=article, annotator=user, state=AssignmentState.SUBMITTED
    ).exists()


def articles_for_corpus(access: Access) -> QuerySet[Article]:
    """A corpus's live articles with progress counts (of the work the caller may see) and the
    caller's assignment state. The text is deferred: lists never need it. A count of work the
    caller sees all of is the article's counter (ArticleCounts); the others are counted, per
    article, each asking per row whether the caller submitted it (`few`)."""
    # One row at most (one assignment per article and annotator): no ordering, which would join
    # the article and the user to every probe (the model's default ordering).
    my_assignment = Assignment.objects.filter(
        article=OuterRef("pk"), annotator=access.user
    ).order_by()
    assignments = Assignment.objects.filter(access.visible(Kind.ASSIGNMENT, few=True))

    def counted(kind: Kind, field: str, rows: Any) -> Any:
        return Coalesce(F(f"counts__{field}"), Value(0)) if access.sees_everything(kind) else rows

    return (
        Article.objects.alive()
        .filter(corpus=access.corpus)
        .defer("text")
        .annotate(
            n_claims=Coalesce(F("counts__claims"), Value(0)),
            n_annotations=counted(
                Kind.ANNOTATION,
                "annotations",
                _count(
                    Annotation.objects.alive().filter(access.visible(Kind.ANNOTATION, few=True)),
                    "claim__article",
                ),
            ),
            n_reviewed=counted(
                Kind.REVIEW,
                "reviewed",
                _count(
                    Review.objects.filter(
                        access.visible(Kind.REVIEW, few=True), claim__deleted_at__isnull=True
                    ),
                    "claim__article",
                ),
            ),
            n_assigned=counted(Kind.ASSIGNMENT, "assignments", _count(assignments, "article")),
            n_submitted=counted(
                Kind.ASSIGNMENT,
                "assignments_submitted",
                _count(assignments.filter(state=AssignmentState.SUBMITTED), "article"),
            ),
            my_state=Subquery(my_assignment.values("state")[:1]),
        )
        .order_by("id")
    )


def live_articles_kept(corpus: Corpus) -> int:
    """The corpus's live articles, from its counter: one lookup by key, read afresh (a page
    shown again after a write in the same request must not show the count from before)."""
    kept = CorpusCounts.objects.filter(corpus=corpus).values_list("articles", flat=True).first()
    return kept or 0


# --- Claims and what hangs from them ----------------------------------------------------------


def claim_with_access(user, claim_id: Any) -> tuple[Claim, Access]:
    claim, role = _fetch_with_access(
        user,
        Claim.objects.alive()
        .filter(article__deleted_at__isnull=True)
        .select_related("article__corpus", "created_by"),
        "article__corpus",
        parse_id(claim_id),
        "Claim not found.",
    )
    return claim, Access(user=user, corpus=claim.article.corpus, role=role)


def annotation_with_access(user, annotation_id: Any) -> tuple[Annotation, Access]:
    """An annotation the user may see (blind mode: others' are not found) and their access."""
    annotation, role = _fetch_with_access(
        user,
        Annotation.objects.alive().select_related("claim__article__corpus", "annotator", "topic"),
        "claim__article__corpus",
        parse_id(annotation_id),
        "Annotation not found.",
    )
    access = Access(user=user, corpus=annotation.claim.article.corpus, role=role)
    visible = access.visible(Kind.ANNOTATION)
    if visible != Q() and not Annotation.objects.filter(visible, pk=annotation.pk).exists():
        raise Http404("Annotation not found.")
    return annotation, access


def relation_with_access(user, relation_id: Any) -> tuple[Relation, Access]:
    """A relation between live claims that the user may see (blind mode: others' are not
    found) and their access."""
    relation, role = _fetch_with_access(
        user,
        Relation.objects.select_related(
            "source_claim__article__corpus", "target_claim", "created_by"
        ).filter(source_claim__deleted_at__isnull=True, target_claim__deleted_at__isnull=True),
        "source_claim__article__corpus",
        parse_id(relation_id),
        "Relation not found.",
    )
    access = Access(user=user, corpus=relation.source_claim.article.corpus, role=role)
    visible = access.visible(Kind.RELATION)
    if visible != Q() and not Relation.objects.filter(visible, pk=relation.pk).exists():
        raise Http404("Relation not found.")
    return relation, access


def annotations_prefetch(queryset: QuerySet[Annotation] | None = None) -> QuerySet[Annotation]:
    """Annotations with everything a page or serializer shows, in a fixed number of queries."""
    queryset = queryset if queryset is not None else Annotation.objects.all()
    return queryset.select_related("annotator", "topic").prefetch_related(
        Prefetch("evidence", queryset=Evidence.objects.order_by("position", "id"))
    )


def visible_relations(access: Access) -> QuerySet[Relation]:
    """Relations between live claims that the caller may see."""
    return Relation.objects.filter(
        access.visible(Kind.RELATION),
        source_claim__deleted_at__isnull=True,
        target_claim__deleted_at__isnull=True,
    )


def claims_for_article(access: Access, article: Article) -> QuerySet[Claim]:
    """The article's live claims in text order, each with the annotations the caller may see
    (`visible_annotations`) and their count, their evidence, whether it has a review they may
    see, and the relations they may see both ways.

    A fixed number of queries however many claims and annotations there are.
    """
    visible = Annotation.objects.filter(access.visible(Kind.ANNOTATION))
    return (
        Claim.objects.alive()
        .placed()  # orphans have no place in the text: the Orphans list shows them
        .filter(article=article)
        # `review` is joined for those who may see it (callers check sees_all_on(article,
        # Kind.REVIEW) before showing it; `has_review` below is already filtered).
        .select_related("created_by", "review__curator", "review__topic")
        .prefetch_related(
            Prefetch(
                "annotations",
                queryset=annotations_prefetch(visible).order_by("annotator__username"),
                to_attr="visible_annotations",
            ),
            Prefetch(
                "outgoing_relations", queryset=visible_relations(access), to_attr="relations_out"
            ),
            Prefetch(
                "incoming_relations", queryset=visible_relations(access), to_attr="relations_in"
            ),
        )
        .annotate(
            n_annotations=_count(visible, "claim"),
            has_review=Exists(
                Review.objects.filter(access.visible(Kind.REVIEW), claim=OuterRef("pk"))
            ),
        )
        .in_text_order()
    )


# --- Reviews -----------------------------------------------------------------------------------


def reviews_for_article(access: Access, article: Article) -> QuerySet[Review]:
    """The reviews of the article's live claims the caller may see (none before they may), keyed
    for display by `claim_id`, with the curator and gold topic."""
    return Review.objects.filter(
        access.visible(Kind.REVIEW), claim__article=article, claim__deleted_at__isnull=True
    ).select_related("curator", "topic")


# --- Annotation page -----------------------------------------------------------------------


def claim_outline_for_article(article: Article) -> QuerySet:
    """Every live claim of the article as (id, first 80 code points of its text), in text order:
    the choices of a relation's other end and the labels of relation endpoints, in one query."""
    return (
        Claim.objects.alive()
        .placed()  # orphans have no place in the text: the Orphans list shows them
        .filter(article=article)
        .in_text_order()
        .annotate(head=Substr("exact", 1, 80))
        .values_list("id", "head")
    )


def comments_for_claim(access: Access, claim: Claim) -> QuerySet[Comment]:
    """A claim's thread as the caller may see it, oldest first."""
    return (
        Comment.objects.filter(access.visible(Kind.COMMENT), claim=claim)
        .select_related("author")
        .order_by("created_at", "id")
    )


# --- Dashboard and article-list extras --------------------------------------------------------


def corpora_for_dashboard(user) -> QuerySet[Corpus]:
    """corpora_for_user plus what the dashboard shows: claims tagged at least once, the team's
    assignments (all and submitted), and the next article assigned to the user and not yet
    submitted (`next_article_id`, `next_article_title`; looked for only when the member's
    counters say there is one); counts of the work the user may see, from the counters. Still
    one query."""
    counted = _counted_for_user()
    my_open = Assignment.objects.filter(
        annotator=user,
        state=AssignmentState.ASSIGNED,
        article__corpus=OuterRef("pk"),
        article__deleted_at__isnull=True,
    ).order_by("article_id")

    def if_open(field: str) -> Case:
        return Case(
            When(n_my_assigned__gt=F("n_my_submitted"), then=Subquery(my_open.values(field)[:1]))
        )

    return corpora_for_user(user).annotate(
        n_claims_tagged=counted["n_claims_tagged"],
        n_assignments=counted["n_assignments"],
        n_assignments_submitted=counted["n_assignments_submitted"],
        next_article_id=if_open("article_id"),
        next_article_title=if_open("article__title"),
    )


def disagreeing_claims(**filters: Any) -> QuerySet:
    """Ids (`claim`) of live claims whose annotations differ in stance or in topic. Only for
    readers who see every annotation (`Access.show_disagreements`)."""
    return (
        Annotation.objects.filter(claim__deleted_at__isnull=True, **filters)
        .order_by()
        .values("claim")
        .annotate(n_stances=Count("stance", distinct=True), n_topics=Count("topic", distinct=True))
        .filter(Q(n_stances__gt=1) | Q(n_topics__gt=1))
        .values("claim")
    )


def article_has_disagreement() -> Exists:
    """For an Article queryset: whether one of its claims has disagreeing annotations."""
    return Exists(disagreeing_claims(claim__article=OuterRef("pk")))


# --- Public API reads ------------------------------------------------------------------------


def corpus_detail_with_access(user, slug: str) -> tuple[Corpus, Access]:
    """One of the user's corpora with its role and counts, or Http404: the same figures as
    corpora_for_user's, in one query (the corpus, its counters, the membership and the
    member's counters), chosen from in Python by the role."""
    _require_user(user)
    corpus = (
        Corpus.objects.select_related("counts")
        .filter(slug=str(slug), memberships__user=user)
        .annotate(
            member_role=F("memberships__role"),
            **{f"my_{field}": _mine(field) for field in MEMBER_FIELDS},
        )
        .first()
    )
    if corpus is None:
        raise Http404("No corpus with that name among yours.")
    row: Any = corpus  # carries the annotations the model does not declare
    try:
        counts: CorpusCounts | None = corpus.counts
    except CorpusCounts.DoesNotExist:
        counts = None

    def kept(field: str) -> int:
        return getattr(counts, field) if counts is not None else 0

    sees_all = row.member_role in SEES_ALL_ROLES
    sees_all_work = sees_all or not corpus.blind
    row.n_articles = kept("articles")
    row.n_claims = kept("claims")
    row.n_my_assigned = row.my_assigned
    row.n_my_submitted = row.my_submitted
    row.n_annotations = (
        kept("annotations") if sees_all_work else row.my_tags + row.my_sub_annotations
    )
    row.n_reviewed = kept("reviewed") if sees_all else row.my_sub_reviewed
    return corpus, Access(user=user, corpus=corpus, role=row.member_role)


def membership_get(corpus: Corpus, username: str) -> Membership:
    if "\x00" in username:  # PostgreSQL cannot even compare such a string
        raise Http404("No such member.")
    membership = members_for_corpus(corpus).filter(user__username=username).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def annotations_for_claim(access: Access, claim: Claim) -> QuerySet[Annotation]:
    """The claim's annotations the caller may see, with annotator, topic, evidence."""
    return annotations_prefetch(
        Annotation.objects.filter(access.visible(Kind.ANNOTATION), claim=claim)
    )


def review_for_claim(access: Access, claim: Claim) -> Review | None:
    """The claim's review if there is one and the caller may see it."""
    return (
        Review.objects.filter(access.visible(Kind.REVIEW), claim=claim)
        .select_related("curator", "topic")
        .first()
    )


def relations_for_article(access: Access, article: Article) -> QuerySet[Relation]:
    """Relations between the article's live claims that the caller may see."""
    return (
        visible_relations(access).filter(source_claim__article=article).select_related("created_by")
    )


def assignments_for_corpus(access: Access) -> QuerySet[Assignment]:
    """Assignments of the corpus's live articles that the caller may see, with article,
    annotator and assigner."""
    return Assignment.objects.filter(
        access.visible(Kind.ASSIGNMENT),
        article__corpus=access.corpus,
        article__deleted_at__isnull=True,
    ).select_related("article", "annotator", "assigned_by")


def api_tokens_for_user(user) -> QuerySet[ApiToken]:
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("-created", "-id")


def api_token_get_for_user(user, token_id: Any) -> ApiToken:
    token = api_tokens_for_user(user).filter(pk=parse_id(token_id)).first()
    if token is None:
        raise Http404("No such token among yours.")
    return token


@dataclass(slots=True)
class ClaimOverview:
    """One claim as the annotation page's text and list show it: plain values, no models."""

    id: int
    start: int
    end: int
    head: str  # the first OVERVIEW_HEAD code points of `exact`
    created_by_id: int
    tags: list[tuple[int, int, str]] = field(default_factory=list)  # (annotator, topic, stance)
    review: tuple[str, str] | None = None  # (decision, gold stance) when the user may see it


OVERVIEW_HEAD = 200


def claim_overview_for_article(access: Access, article: Article) -> list[ClaimOverview]:
    """The article's live claims in text order with the annotations and the curators' decisions
    the caller may see, as plain values in two queries. No model instances: a page with 1,000
    claims and 3,000 annotations must render fast; the full objects of one claim come from
    claims_for_article."""
    review = Review.objects.filter(access.visible(Kind.REVIEW), claim=OuterRef("pk"))
    rows = {
        pk: ClaimOverview(
            # placed() below: a start and an end, never None
            pk,
            cast(int, start),
            cast(int, end),
            head,
            created_by,
            review=(decision, gold) if decision else None,
        )  # fmt: skip
        for pk, start, end, head, created_by, decision, gold in Claim.objects.alive()
        .placed()  # orphans have no place in the text: the Orphans list shows them
        .filter(article=article)
        .in_text_order()
        .annotate(
            head=Substr("exact", 1, OVERVIEW_HEAD),
            decision=Subquery(review.values("decision")[:1]),
            gold=Subquery(review.values("stance")[:1]),
        )
        .values_list("id", "start", "end", "head", "created_by_id", "decision", "gold")
    }
    for claim_id, annotator_id, topic_id, stance in (
        Annotation.objects.filter(
            access.visible(Kind.ANNOTATION),
            claim__article=article,
            claim__deleted_at__isnull=True,
            claim__start__isnull=False,
        )
        .order_by("id")
        .values_list("claim_id", "annotator_id", "topic_id", "stance")
    ):
        rows[claim_id].tags.append((annotator_id, topic_id, stance))
    return list(rows.values())


def annotation_of(*, user, claim: Claim) -> Annotation | None:
    """The user's own annotation of the claim, if any (one per claim and annotator)."""
    return Annotation.objects.filter(claim=claim, annotator=user).first()


# --- Managing articles (bulk actions of the corpus page) -------------------------------------


def articles_chosen(access: Access, ids: list[Any]) -> list[Article]:
    """The live articles of the caller's corpus with these ids, in the order given; an id that
    is not one of them is refused (400) by name, so that a bulk action never half-applies."""
    if not ids:
        raise ValidationError({"articles": ["Tick at least one article."]})
    wanted, missing = [], []
    for value in ids:
        try:
            wanted.append(parse_id(value))
        except Http404:
            missing.append(str(value)[:30])
    found = {
        a.pk: a
        for a in Article.objects.alive()
        .filter(corpus=access.corpus, pk__in=wanted)
        .defer("text")
        .select_related("corpus")
    }
    missing += [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise ValidationError(
            {"articles": [f"No such article in this corpus: {', '.join(missing)}."]}
        )
    return [found[pk] for pk in dict.fromkeys(wanted)]


def invitation_in_corpus(corpus: Corpus, invitation_id: Any) -> Invitation:
    """An invitation of the corpus (404 otherwise); the caller's role was checked."""
    found = Invitation.objects.filter(corpus=corpus, pk=parse_id(invitation_id)).first()
    if found is None:
        raise Http404("Invitation not found.")
    return found


def invitations_open(corpus: Corpus) -> QuerySet[Invitation]:
    """The corpus's invitations nobody has used yet (expired ones too, marked by the page)."""
    return Invitation.objects.filter(corpus=corpus, accepted_at__isnull=True).select_related(
        "invited_by"
    )


def guidelines_for(corpus: Corpus) -> Guidelines:
    """The corpus's guidelines (an unsaved empty one, version 1, when none were written)."""
    return Guidelines.objects.filter(corpus=corpus).select_related("updated_by").first() or (
        Guidelines(corpus=corpus)
    )


# --- Relations of one claim (the review page) ------------------------------------------------


def relations_of_claim(access: Access, claim: Claim) -> QuerySet[Relation]:
    """The links the caller may see from and to `claim`, with both ends and their creator."""
    return (
        visible_relations(access)
        .filter(Q(source_claim=claim) | Q(target_claim=claim))
        .select_related("source_claim", "target_claim", "created_by")
        .order_by("kind", "id")
    )


def claim_choices_for_merge(claim: Claim) -> QuerySet:
    """The other live claims of the claim's article as (id, start, end, first 80 code points),
    in text order: what a curator may merge the claim into."""
    return (
        Claim.objects.alive()
        .filter(article_id=claim.article_id)
        .exclude(pk=claim.pk)
        .in_text_order()
        .annotate(head=Substr("exact", 1, 80))
        .values_list("id", "start", "end", "head")
    )


def assignment_state(*, user, article: Article) -> str | None:
    """The state of the user's assignment to the article (assigned, submitted), or None."""
    return (
        Assignment.objects.filter(article=article, annotator=user)
        .values_list("state", flat=True)
        .first()
    )
