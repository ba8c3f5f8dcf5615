"""Reads behind the team pages: work distribution, review queue, audit log, claim history, trash.

Like selectors.py, every function takes objects already fetched with permission (the corpus from
corpus_with_access, the claim from claim_with_access) and runs a fixed number of queries
whatever the amount of data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from .models import (
    Annotation,
    Article,
    Assignment,
    AssignmentState,
    AuditEvent,
    Claim,
    Comment,
    Corpus,
    Evidence,
    Membership,
    Review,
    ReviewDecision,
    Role,
    Topic,
)
from .selectors import parse_id

User = get_user_model()

# --- Review queue ----------------------------------------------------------------------------

# Queue order: open disagreements, then claims with a single annotator (or none), then agreed
# but unreviewed claims, then everything already reviewed.
RANK_DISAGREE, RANK_SINGLE, RANK_AGREED, RANK_REVIEWED = 0, 1, 2, 3

# The queue's states, as its filter offers them: (label, which claims of `review_queue`). The
# first four are the queue's ranks, one each (the tiles above the queue count them).
QUEUE_STATES: dict[str, tuple[str, Q]] = {
    "disagree": ("Annotators disagree", Q(rank=RANK_DISAGREE)),
    "single": ("One annotator or none", Q(rank=RANK_SINGLE)),
    "agreed": ("Agreed, not reviewed", Q(rank=RANK_AGREED)),
    "reviewed": ("Reviewed", Q(has_review=True)),
    "disagreement": (
        "Disagreement or single annotator (unreviewed)",
        Q(rank__in=[RANK_DISAGREE, RANK_SINGLE]),
    ),
    "unreviewed": ("Unreviewed", Q(has_review=False)),
    ReviewDecision.ACCEPTED.value: ("Accepted", Q(review__decision=ReviewDecision.ACCEPTED)),
    ReviewDecision.REJECTED.value: ("Rejected", Q(review__decision=ReviewDecision.REJECTED)),
}


def _distinct_count(field_name: str) -> Coalesce:
    counted = (
        Annotation.objects.filter(claim=OuterRef("pk"))
        .order_by()
        .values("claim")
        .annotate(n=Count(field_name, distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def review_queue(corpus: Corpus) -> QuerySet[Claim]:
    """The corpus's live claims in review order, each with `n_annotations`, `n_stances`,
    `n_topics`, `has_review`, `rank` and `review_state` (filter it with the page's
    QueueFilterSet, articles.filters.pages)."""
    claims = (
        Claim.objects.alive()
        .filter(article__corpus=corpus, article__deleted_at__isnull=True)
        .annotate(
            n_annotations=_distinct_count("id"),
            n_stances=_distinct_count("stance"),
            n_topics=_distinct_count("topic"),
            has_review=Exists(Review.objects.filter(claim=OuterRef("pk"))),
        )
        .annotate(
            rank=Case(
                When(has_review=True, then=Value(RANK_REVIEWED)),
                When(Q(n_stances__gt=1) | Q(n_topics__gt=1), then=Value(RANK_DISAGREE)),
                When(n_annotations__lt=2, then=Value(RANK_SINGLE)),
                default=Value(RANK_AGREED),
                output_field=IntegerField(),
            ),
            review_state=Coalesce(
                "review__decision", Value("unreviewed"), output_field=CharField()
            ),
        )
    )
    return claims.order_by("rank", "article_id", "start", "-end", "id")


def queue_with_details(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """What a queue row shows: the article title, every annotation and the review."""
    return (
        claims.select_related("article", "review__curator", "review__topic")
        .prefetch_related(
            Prefetch(
                "annotations",
                queryset=Annotation.objects.select_related("annotator", "topic").order_by(
                    "annotator__username"
                ),
                to_attr="all_annotations",
            )
        )
        .defer("article__text")
    )


def queue_next(claims: QuerySet[Claim], *, after: Claim | None = None) -> Claim | None:
    """The first unreviewed claim of a (filtered) `review_queue`, other than `after`."""
    # In a Q, as in QUEUE_STATES: `has_review` is review_queue's annotation, which the stubs'
    # plugin cannot see on a plain QuerySet[Claim].
    claims = claims.filter(Q(has_review=False))
    if after is not None:
        claims = claims.exclude(pk=after.pk)
    return claims.select_related("article").defer("article__text").first()


def queue_filter_options(corpus: Corpus) -> dict[str, Any]:
    """Choices for the queue's filter form (three queries)."""
    return {
        "articles": list(
            Article.objects.alive().filter(corpus=corpus).order_by("id").values_list("id", "title")
        ),
        "annotators": list(
            Membership.objects.filter(corpus=corpus)
            .exclude(role=Role.VIEWER)
            .order_by("user__username")
            .values_list("user__username", flat=True)
        ),
        "topics": list(Topic.objects.filter(corpus=corpus).order_by("position", "id")),
        "states": [(state, label) for state, (label, _claims) in QUEUE_STATES.items()],
    }


# --- One claim under review ----------------------------------------------------------------


def annotations_for_review(claim: Claim) -> list[Annotation]:
    """Every annotation of the claim (curators see all, blind mode or not), with evidence."""
    return list(
        Annotation.objects.filter(claim=claim)
        .select_related("annotator", "topic")
        .prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.order_by("position", "id"))
        )
        .order_by("annotator__username")
    )


def review_for_claim(claim: Claim) -> Review | None:
    return Review.objects.filter(claim=claim).select_related("curator", "topic").first()


# --- Assignments -----------------------------------------------------------------------------


@dataclass
class AnnotatorProgress:
    user: Any
    role: str
    assigned: int = 0
    submitted: int = 0
    pending: list[tuple[int, str]] = field(default_factory=list)  # (article id, title), in order

    @property
    def n_pending(self) -> int:
        return self.assigned - self.submitted


def assignable_members(corpus: Corpus) -> list[Membership]:
    """Members who can take work (annotators, curators, owners), active accounts only."""
    return list(
        Membership.objects.filter(corpus=corpus, user__is_active=True)
        .exclude(role=Role.VIEWER)
        .select_related("user")
        .order_by("user__username")
    )


def annotator_progress(corpus: Corpus, members: list[Membership]) -> list[AnnotatorProgress]:
    """Per member who can take work: assigned, submitted, and the queue of pending articles."""
    progress = {m.user_id: AnnotatorProgress(user=m.user, role=m.role) for m in members}
    live = Assignment.objects.filter(article__corpus=corpus, article__deleted_at__isnull=True)
    for row in (
        live.order_by()
        .values("annotator_id")
        .annotate(
            assigned=Count("id"), submitted=Count("id", filter=Q(state=AssignmentState.SUBMITTED))
        )
    ):
        if row["annotator_id"] in progress:
            progress[row["annotator_id"]].assigned = row["assigned"]
            progress[row["annotator_id"]].submitted = row["submitted"]
    pending = (
        live.filter(state=AssignmentState.ASSIGNED)
        .order_by("article_id")
        .values_list("annotator_id", "article_id", "article__title")
    )
    for annotator_id, article_id, title in pending:
        if annotator_id in progress:
            progress[annotator_id].pending.append((article_id, title))
    return list(progress.values())


def articles_with_assignments(corpus: Corpus) -> QuerySet[Article]:
    """Live articles (text deferred) with `work`: their assignments and annotators, in order."""
    return (
        Article.objects.alive()
        .filter(corpus=corpus)
        .defer("text")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("annotator").order_by(
                    "annotator__username"
                ),
                to_attr="work",
            )
        )
        .order_by("id")
    )


def assignment_in_corpus(corpus: Corpus, assignment_id: Any) -> Assignment:
    assignment = (
        Assignment.objects.select_related("article__corpus", "annotator")
        .filter(
            pk=parse_id(assignment_id), article__corpus=corpus, article__deleted_at__isnull=True
        )
        .first()
    )
    if assignment is None:
        raise Http404("Assignment not found.")
    return assignment


def membership_in_corpus(corpus: Corpus, username: str) -> Membership:
    membership = (
        Membership.objects.select_related("user", "corpus")
        .filter(corpus=corpus, user__username=str(username))
        .first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def topic_in_corpus(corpus: Corpus, topic_id: Any) -> Topic:
    topic = (
        Topic.objects.select_related("corpus").filter(pk=parse_id(topic_id), corpus=corpus).first()
    )
    if topic is None:
        raise Http404("Topic not found.")
    return topic


def topics_with_use(corpus: Corpus) -> QuerySet[Topic]:
    """Topics with `n_used`: annotations and reviews that point to them (they can't be deleted)."""
    used = (
        Annotation.objects.filter(topic=OuterRef("pk"))
        .order_by()
        .values("topic")
        .annotate(n=Count("*"))
        .values("n")
    )
    reviewed = (
        Review.objects.filter(topic=OuterRef("pk"))
        .order_by()
        .values("topic")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (
        Topic.objects.filter(corpus=corpus)
        .annotate(
            n_used=Coalesce(Subquery(used, output_field=IntegerField()), Value(0))
            + Coalesce(Subquery(reviewed, output_field=IntegerField()), Value(0))
        )
        .order_by("position", "id")
    )


# --- Audit log -------------------------------------------------------------------------------


def audit_events(corpus: Corpus) -> QuerySet[AuditEvent]:
    """The corpus's log, newest first (filter it with the page's AuditFilterSet)."""
    return AuditEvent.objects.filter(corpus=corpus).select_related("actor").order_by("-at", "-id")


def audit_filter_options(corpus: Corpus) -> dict[str, list[str]]:
    """Actors, verbs and object types that occur in the corpus's log (two queries)."""
    events = AuditEvent.objects.filter(corpus=corpus).order_by()
    pairs = sorted(set(events.values_list("verb", "object_type").distinct()))
    actors = events.exclude(actor=None).values_list("actor__username", flat=True).distinct()
    return {
        "actors": sorted(actors),
        "verbs": sorted({verb for verb, _ in pairs}),
        "object_types": sorted({kind for _, kind in pairs}),
    }


@dataclass(frozen=True)
class DiffRow:
    field: str
    before: str
    after: str
    change: str  # "added", "removed", "changed" or "same"


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_diff(before: Any, after: Any) -> list[DiffRow]:
    """A readable field-by-field comparison of an event's before/after JSON.

    Fields that did not change are kept (marked "same") only when the event changed something
    else, so that a create or a delete lists every field once.
    """
    before = before if isinstance(before, dict) else ({"value": before} if before else {})
    after = after if isinstance(after, dict) else ({"value": after} if after else {})
    rows = []
    for key in dict.fromkeys([*before, *after]):
        if key not in before:
            rows.append(DiffRow(key, "", _show(after[key]), "added"))
        elif key not in after:
            rows.append(DiffRow(key, _show(before[key]), "", "removed"))
        elif before[key] != after[key]:
            rows.append(DiffRow(key, _show(before[key]), _show(after[key]), "changed"))
        else:
            rows.append(DiffRow(key, _show(before[key]), _show(after[key]), "same"))
    if before and after:
        rows.sort(key=lambda row: row.change == "same")
    return rows


def claim_history(claim: Claim) -> QuerySet[AuditEvent]:
    """The claim's own events and those of its annotations, review, comments and relations,
    including ones since deleted (found by the claim id their snapshots carry)."""
    pk = claim.pk
    annotation_ids = Annotation.objects.filter(claim=claim).values_list("id", flat=True)
    comment_ids = Comment.objects.filter(claim=claim).values_list("id", flat=True)
    review_ids = Review.objects.filter(claim=claim).values_list("id", flat=True)
    return (
        AuditEvent.objects.filter(corpus_id=claim.article.corpus_id)
        .filter(
            Q(object_type="claim", object_id=str(pk))
            | Q(object_type="annotation", object_id__in=[str(i) for i in annotation_ids])
            | Q(object_type="comment", object_id__in=[str(i) for i in comment_ids])
            | Q(object_type="review", object_id__in=[str(i) for i in review_ids])
            | Q(object_type__in=["annotation", "review", "comment"], after__claim_id=pk)
            | Q(object_type__in=["annotation", "review", "comment"], before__claim_id=pk)
            | Q(object_type="comment", after__claim=pk)
            | Q(object_type="relation", after__source=pk)
            | Q(object_type="relation", after__target=pk)
            | Q(object_type="relation", before__source=pk)
            | Q(object_type="relation", before__target=pk)
        )
        .select_related("actor")
        .order_by("at", "id")
    )


# --- Trash -----------------------------------------------------------------------------------


def trashed_articles(corpus: Corpus) -> QuerySet[Article]:
    """Deleted articles with who deleted them and how many claims come back on restore."""
    claims_with_it = (
        Claim.objects.filter(article=OuterRef("pk"), deleted_at=OuterRef("deleted_at"))
        .order_by()
        .values("article")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (
        Article.objects.in_trash()
        .filter(corpus=corpus)
        .defer("text")
        .select_related("deleted_by")
        .annotate(n_claims=Coalesce(Subquery(claims_with_it, output_field=IntegerField()), 0))
        .order_by("-deleted_at", "-id")
    )


def trashed_claims(corpus: Corpus) -> QuerySet[Claim]:
    """Claims deleted on their own (their article is alive)."""
    return (
        Claim.objects.in_trash()
        .filter(article__corpus=corpus, article__deleted_at__isnull=True)
        .select_related("article", "deleted_by", "created_by")
        .defer("article__text")
        .order_by("-deleted_at", "-id")
    )


def trashed_article_get(corpus: Corpus, article_id: Any) -> Article:
    article = (
        Article.objects.in_trash()
        .select_related("corpus")
        .filter(pk=parse_id(article_id), corpus=corpus)
        .first()
    )
    if article is None:
        raise Http404("No such article in the trash.")
    return article


def trashed_claim_get(corpus: Corpus, claim_id: Any) -> Claim:
    claim = (
        Claim.objects.in_trash()
        .select_related("article__corpus")
        .filter(pk=parse_id(claim_id), article__corpus=corpus)
        .first()
    )
    if claim is None:
        raise Http404("No such claim in the trash.")
    return claim
