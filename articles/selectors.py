"""Every read that feeds a page, a serializer or an export, scoped to the requesting user.

`*_get_for_user` functions answer Http404 for anything the user is not a member of (no existence
leaks) and attach the caller's role in the corpus as `obj.my_role`, fetched in the same query.
List selectors own their select_related/prefetch_related so that query counts do not grow with
the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Substr
from django.http import Http404

from .models import (
    Annotation,
    ApiToken,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Comment,
    Corpus,
    Evidence,
    Membership,
    Relation,
    Review,
    Role,
    Topic,
)
from .permissions import sees_all_annotations


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


# --- Corpora -------------------------------------------------------------------------------


def corpora_for_user(user) -> QuerySet[Corpus]:
    """The corpora the user is a member of, with their role and progress counts."""
    if not user.is_authenticated:
        return Corpus.objects.none()
    return (
        Corpus.objects.filter(memberships__user=user)
        .annotate(
            my_role=_role_in("pk", user),
            n_articles=_count(Article.objects.alive(), "corpus"),
            n_claims=_count(Claim.objects.alive(), "article__corpus"),
            n_annotations=_count(Annotation.objects.alive(), "claim__article__corpus"),
            n_my_assigned=_count(
                Assignment.objects.filter(annotator=user, article__deleted_at__isnull=True),
                "article__corpus",
            ),
            n_my_submitted=_count(
                Assignment.objects.filter(
                    annotator=user,
                    state=AssignmentState.SUBMITTED,
                    article__deleted_at__isnull=True,
                ),
                "article__corpus",
            ),
            n_reviewed=_count(
                Review.objects.filter(claim__deleted_at__isnull=True), "claim__article__corpus"
            ),
        )
        .order_by("name")
    )


def corpus_get_for_user(user, slug: str) -> Corpus:
    _require_user(user)
    corpus = (
        Corpus.objects.annotate(my_role=_role_in("pk", user))
        .filter(slug=str(slug), my_role__isnull=False)
        .first()
    )
    if corpus is None:
        raise Http404("No corpus with that name among yours.")
    return corpus


def topics_for_corpus(corpus: Corpus) -> QuerySet[Topic]:
    return Topic.objects.filter(corpus=corpus).order_by("position", "id")


def members_for_corpus(corpus: Corpus) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(corpus=corpus).select_related("user").order_by("user__username")
    )


def topic_get_for_user(user, topic_id: Any) -> Topic:
    _require_user(user)
    topic = (
        Topic.objects.select_related("corpus")
        .annotate(my_role=_role_in("corpus", user))
        .filter(pk=parse_id(topic_id), my_role__isnull=False)
        .first()
    )
    if topic is None:
        raise Http404("Topic not found.")
    return topic


# --- Articles ------------------------------------------------------------------------------


def article_get_for_user(user, article_id: Any) -> Article:
    _require_user(user)
    article = (
        Article.objects.alive()
        .select_related("corpus")
        .annotate(my_role=_role_in("corpus", user))
        .filter(pk=parse_id(article_id), my_role__isnull=False)
        .first()
    )
    if article is None:
        raise Http404("Article not found.")
    return article


def has_submitted(*, user, article: Article) -> bool:
    return Assignment.objects.filter(
        article=article, annotator=user, state=AssignmentState.SUBMITTED
    ).exists()


def articles_for_corpus(user, corpus: Corpus) -> QuerySet[Article]:
    """A corpus's live articles with progress counts and the caller's assignment state.

    `corpus` must come from corpus_get_for_user (membership already checked). The text is
    deferred: lists never need it.
    """
    my_assignment = Assignment.objects.filter(article=OuterRef("pk"), annotator=user)
    return (
        Article.objects.alive()
        .filter(corpus=corpus)
        .defer("text")
        .annotate(
            n_claims=_count(Claim.objects.alive(), "article"),
            n_annotations=_count(Annotation.objects.all(), "claim__article"),
            n_reviewed=_count(
                Review.objects.filter(claim__deleted_at__isnull=True), "claim__article"
            ),
            n_assigned=_count(Assignment.objects.all(), "article"),
            n_submitted=_count(
                Assignment.objects.filter(state=AssignmentState.SUBMITTED), "article"
            ),
            my_state=Subquery(my_assignment.values("state")[:1]),
        )
        .order_by("id")
    )


# --- Claims and what hangs from them ----------------------------------------------------------


def claim_get_for_user(user, claim_id: Any) -> Claim:
    _require_user(user)
    claim = (
        Claim.objects.alive()
        .select_related("article__corpus", "created_by")
        .annotate(my_role=_role_in("article__corpus", user))
        .filter(pk=parse_id(claim_id), my_role__isnull=False, article__deleted_at__isnull=True)
        .first()
    )
    if claim is None:
        raise Http404("Claim not found.")
    return claim


def visible_annotations_filter(*, user, article: Article, role: str | None) -> Q:
    """Which annotations of `article` the user may see (blind mode hides others' until submit)."""
    if sees_all_annotations(
        role=role,
        blind=article.corpus.blind,
        has_submitted=article.corpus.blind
        and role == Role.ANNOTATOR
        and has_submitted(user=user, article=article),
    ):
        return Q()
    return Q(annotator=user)


def annotation_get_for_user(user, annotation_id: Any) -> Annotation:
    _require_user(user)
    annotation = (
        Annotation.objects.alive()
        .select_related("claim__article__corpus", "annotator", "topic")
        .annotate(my_role=_role_in("claim__article__corpus", user))
        .filter(pk=parse_id(annotation_id), my_role__isnull=False)
        .first()
    )
    if annotation is None:
        raise Http404("Annotation not found.")
    article = annotation.claim.article
    if (
        annotation.annotator_id != user.pk
        and not Annotation.objects.filter(
            visible_annotations_filter(user=user, article=article, role=annotation.my_role),
            pk=annotation.pk,
        ).exists()
    ):
        raise Http404("Annotation not found.")
    return annotation


def relation_get_for_user(user, relation_id: Any) -> Relation:
    _require_user(user)
    relation = (
        Relation.objects.select_related("source_claim__article__corpus", "target_claim")
        .annotate(my_role=_role_in("source_claim__article__corpus", user))
        .filter(
            pk=parse_id(relation_id),
            my_role__isnull=False,
            source_claim__deleted_at__isnull=True,
            target_claim__deleted_at__isnull=True,
        )
        .first()
    )
    if relation is None:
        raise Http404("Relation not found.")
    return relation


def annotations_prefetch(queryset: QuerySet[Annotation] | None = None) -> QuerySet[Annotation]:
    """Annotations with everything a page or serializer shows, in a fixed number of queries."""
    queryset = queryset if queryset is not None else Annotation.objects.all()
    return queryset.select_related("annotator", "topic").prefetch_related(
        Prefetch("evidence", queryset=Evidence.objects.order_by("position", "id"))
    )


def claims_for_article(user, article: Article, role: str | None = None) -> QuerySet[Claim]:
    """The article's live claims in text order, each with the annotations the user may see
    (`visible_annotations`), their evidence, the review, and relations both ways.

    A fixed number of queries however many claims and annotations there are.
    """
    role = role if role is not None else getattr(article, "my_role", None)
    visible = annotations_prefetch(
        Annotation.objects.filter(visible_annotations_filter(user=user, article=article, role=role))
    ).order_by("annotator__username")
    return (
        Claim.objects.alive()
        .filter(article=article)
        .select_related("created_by", "review__curator", "review__topic")
        .prefetch_related(
            Prefetch("annotations", queryset=visible, to_attr="visible_annotations"),
            Prefetch(
                "outgoing_relations",
                queryset=Relation.objects.filter(target_claim__deleted_at__isnull=True),
                to_attr="relations_out",
            ),
            Prefetch(
                "incoming_relations",
                queryset=Relation.objects.filter(source_claim__deleted_at__isnull=True),
                to_attr="relations_in",
            ),
        )
        .annotate(
            n_annotations=_count(Annotation.objects.all(), "claim"),
            has_review=Exists(Review.objects.filter(claim=OuterRef("pk"))),
        )
        .in_text_order()
    )


# --- Reviews as annotators see them ----------------------------------------------------------


def reviews_visible(*, user, article: Article, role: str | None) -> bool:
    """Whether the user may see the curators' decisions on the article's claims.

    Curators, owners and viewers always; an annotator once they have submitted the article, blind
    corpus or not: a gold stance shown earlier would steer their own tags.
    """
    if role in (Role.OWNER, Role.CURATOR, Role.VIEWER):
        return True
    return role == Role.ANNOTATOR and has_submitted(user=user, article=article)


def reviews_visible_to(user, article: Article, role: str | None = None) -> QuerySet[Review]:
    """The reviews of the article's live claims the user may see (none before they may), keyed
    for display by `claim_id`, with the curator and gold topic."""
    role = role if role is not None else getattr(article, "my_role", None)
    if not reviews_visible(user=user, article=article, role=role):
        return Review.objects.none()
    return Review.objects.filter(
        claim__article=article, claim__deleted_at__isnull=True
    ).select_related("curator", "topic")


# --- Annotation page -----------------------------------------------------------------------


def claim_outline_for_article(article: Article) -> QuerySet:
    """Every live claim of the article as (id, first 80 code points of its text), in text order:
    the choices of a relation's other end and the labels of relation endpoints, in one query."""
    return (
        Claim.objects.alive()
        .filter(article=article)
        .in_text_order()
        .annotate(head=Substr("exact", 1, 80))
        .values_list("id", "head")
    )


def comments_for_claim(*, user, claim: Claim, sees_all: bool) -> QuerySet[Comment]:
    """A claim's thread, oldest first; in blind mode (`sees_all` false) only the user's own."""
    comments = (
        Comment.objects.filter(claim=claim).select_related("author").order_by("created_at", "id")
    )
    return comments if sees_all else comments.filter(author=user)


# --- Dashboard and article-list extras --------------------------------------------------------


def corpora_for_dashboard(user) -> QuerySet[Corpus]:
    """corpora_for_user plus what the dashboard shows: claims tagged at least once, the team's
    assignments (all and submitted), and the next article assigned to the user and not yet
    submitted (`next_article_id`, `next_article_title`). Still one query."""
    tagged_claims = Claim.objects.alive().filter(
        Exists(Annotation.objects.filter(claim=OuterRef("pk")))
    )
    live_assignments = Assignment.objects.filter(article__deleted_at__isnull=True)
    my_open = Assignment.objects.filter(
        annotator=user,
        state=AssignmentState.ASSIGNED,
        article__corpus=OuterRef("pk"),
        article__deleted_at__isnull=True,
    ).order_by("article_id")
    return corpora_for_user(user).annotate(
        n_claims_tagged=_count(tagged_claims, "article__corpus"),
        n_assignments=_count(live_assignments, "article__corpus"),
        n_assignments_submitted=_count(
            live_assignments.filter(state=AssignmentState.SUBMITTED), "article__corpus"
        ),
        next_article_id=Subquery(my_open.values("article_id")[:1]),
        next_article_title=Subquery(my_open.values("article__title")[:1]),
    )


def disagreeing_claims(**filters: Any) -> QuerySet:
    """Ids (`claim`) of live claims whose annotations differ in stance or in topic."""
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


def corpus_detail_for_user(user, slug: str) -> Corpus:
    """One of the user's corpora with its role and counts (corpora_for_user's), or Http404."""
    _require_user(user)
    corpus = corpora_for_user(user).filter(slug=str(slug)).first()
    if corpus is None:
        raise Http404("No corpus with that name among yours.")
    return corpus


def membership_get(corpus: Corpus, username: str) -> Membership:
    if "\x00" in username:  # PostgreSQL cannot even compare such a string
        raise Http404("No such member.")
    membership = members_for_corpus(corpus).filter(user__username=username).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def sees_all_annotations_on(*, user, article: Article, role: str | None) -> bool:
    """Whether blind mode lets the user see every annotation (and comment) of the article."""
    return sees_all_annotations(
        role=role,
        blind=article.corpus.blind,
        has_submitted=article.corpus.blind
        and role == Role.ANNOTATOR
        and has_submitted(user=user, article=article),
    )


def annotations_for_claim(user, claim: Claim, role: str | None) -> QuerySet[Annotation]:
    """The claim's annotations the user may see (blind mode), with annotator, topic, evidence."""
    visible = visible_annotations_filter(user=user, article=claim.article, role=role)
    return annotations_prefetch(Annotation.objects.filter(visible, claim=claim))


def review_for_claim(user, claim: Claim, role: str | None) -> Review | None:
    """The claim's review if there is one and the user may see it (see reviews_visible)."""
    if not reviews_visible(user=user, article=claim.article, role=role):
        return None
    return Review.objects.filter(claim=claim).select_related("curator", "topic").first()


def relations_for_article(article: Article) -> QuerySet[Relation]:
    """Relations between the article's live claims."""
    return Relation.objects.filter(
        source_claim__article=article,
        source_claim__deleted_at__isnull=True,
        target_claim__deleted_at__isnull=True,
    ).select_related("created_by")


def assignments_for_corpus(corpus: Corpus) -> QuerySet[Assignment]:
    """Assignments of the corpus's live articles, with article, annotator and assigner."""
    return Assignment.objects.filter(
        article__corpus=corpus, article__deleted_at__isnull=True
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


def claim_overview_for_article(
    user, article: Article, *, role: str | None, show_reviews: bool
) -> list[ClaimOverview]:
    """The article's live claims in text order with the annotations the user may see (blind mode
    honoured) and, if `show_reviews`, the curators' decisions, as plain values in three queries
    (four in blind mode). No model instances: a page with 1,000 claims and 3,000 annotations
    must render fast; the full objects of one claim come from claims_for_article."""
    rows = {
        pk: ClaimOverview(pk, start, end, head, created_by)
        for pk, start, end, head, created_by in Claim.objects.alive()
        .filter(article=article)
        .in_text_order()
        .annotate(head=Substr("exact", 1, OVERVIEW_HEAD))
        .values_list("id", "start", "end", "head", "created_by_id")
    }
    visible = visible_annotations_filter(user=user, article=article, role=role)
    for claim_id, annotator_id, topic_id, stance in (
        Annotation.objects.filter(visible, claim__article=article, claim__deleted_at__isnull=True)
        .order_by("id")
        .values_list("claim_id", "annotator_id", "topic_id", "stance")
    ):
        rows[claim_id].tags.append((annotator_id, topic_id, stance))
    if show_reviews:
        for claim_id, decision, stance in Review.objects.filter(
            claim__article=article, claim__deleted_at__isnull=True
        ).values_list("claim_id", "decision", "stance"):
            rows[claim_id].review = (decision, stance)
    return list(rows.values())


def annotation_of(*, user, claim: Claim) -> Annotation | None:
    """The user's own annotation of the claim, if any (one per claim and annotator)."""
    return Annotation.objects.filter(claim=claim, annotator=user).first()
