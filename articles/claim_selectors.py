"""Reads of an article's claims for the API: only what the claims list and the document read
show, in a fixed number of queries (the annotation page's richer read is
selectors.claims_for_article)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from .access import Access, Kind
from .models import (
    Annotation,
    Article,
    ArticleCounts,
    Assignment,
    AssignmentState,
    Claim,
    Review,
)
from .selectors import annotations_prefetch


def claims_listed(article: Article) -> QuerySet[Claim]:
    """The article's live claims with what the claims list shows: the creator, and the review
    (shown only to those who may see it: the serializer is told by the view)."""
    return (
        Claim.objects.alive()
        .placed()  # orphans have no place in the text: GET …/orphans lists them
        .filter(article=article)
        .select_related("created_by", "review__curator", "review__topic")
    )


def claims_with_annotations(access: Access, article: Article) -> QuerySet[Claim]:
    """The article's live claims in text order, each with the annotations the caller may see
    (`visible_annotations`, by annotator) and their evidence: three queries."""
    visible = Annotation.objects.filter(access.visible(Kind.ANNOTATION))
    return (
        claims_listed(article)
        .prefetch_related(
            Prefetch(
                "annotations",
                queryset=annotations_prefetch(visible).order_by("annotator__username", "id"),
                to_attr="visible_annotations",
            )
        )
        .order_by("start", "-end", "id")  # in text order (ClaimQuerySet.in_text_order)
    )


# --- A page of a corpus's articles ---------------------------------------------------------------


def articles_listed(access: Access) -> QuerySet[Article]:
    """A corpus's live articles without their text or counts: the page is cut first, then
    `attach_article_counts` counts for its rows only (a correlated count per row and kind let
    the planner scan the annotations once per article)."""
    return Article.objects.alive().filter(corpus=access.corpus).defer("text").order_by("id")


def attach_article_counts(access: Access, articles: Sequence[Article]) -> None:
    """Sets n_claims, n_annotations, n_reviewed, n_assigned, n_submitted (of the work the
    caller may see) and my_state on each of `articles`, the same figures as
    selectors.articles_for_corpus, in two to four queries whatever the page size: the
    articles' counters (ArticleCounts) give the claims and every kind the caller sees all of;
    the kinds blind mode hides from them are counted on this page's rows."""
    ids = [article.pk for article in articles]
    kept: dict[int, dict[str, Any]] = {
        row["article_id"]: dict(row)
        for row in ArticleCounts.objects.filter(article_id__in=ids).values()
    }

    def from_counters(field: str) -> dict[int, int]:
        return {pk: row[field] for pk, row in kept.items()}

    claims = from_counters("claims")
    if access.sees_everything(Kind.ANNOTATION):
        annotations = from_counters("annotations")
    else:
        annotations = _grouped(
            Annotation.objects.alive().filter(
                access.visible(Kind.ANNOTATION, few=True), claim__article_id__in=ids
            ),
            "claim__article_id",
        )
    if access.sees_everything(Kind.REVIEW):
        reviewed = from_counters("reviewed")
    else:
        reviewed = _grouped(
            Review.objects.filter(
                access.visible(Kind.REVIEW, few=True),
                claim__deleted_at__isnull=True,
                claim__article_id__in=ids,
            ),
            "claim__article_id",
        )
    # One's own assignments are always visible to oneself (access.RULES: author "annotator").
    sees_all_assignments = access.sees_everything(Kind.ASSIGNMENT)
    assignments = Assignment.objects.filter(article_id__in=ids)
    if sees_all_assignments:
        assigned, submitted = from_counters("assignments"), from_counters("assignments_submitted")
        assignments = assignments.filter(annotator_id=access.user_id)
    else:
        assigned, submitted = {}, {}
        assignments = assignments.filter(access.visible(Kind.ASSIGNMENT, few=True))
    mine: dict[int, str] = {}
    for article_id, annotator_id, state in assignments.order_by().values_list(
        "article_id", "annotator_id", "state"
    ):
        if not sees_all_assignments:
            assigned[article_id] = assigned.get(article_id, 0) + 1
            if state == AssignmentState.SUBMITTED:
                submitted[article_id] = submitted.get(article_id, 0) + 1
        if annotator_id == access.user_id:
            mine[article_id] = state
    for article in articles:
        article.n_claims = claims.get(article.pk, 0)  # type: ignore[attr-defined]
        article.n_annotations = annotations.get(article.pk, 0)  # type: ignore[attr-defined]
        article.n_reviewed = reviewed.get(article.pk, 0)  # type: ignore[attr-defined]
        article.n_assigned = assigned.get(article.pk, 0)  # type: ignore[attr-defined]
        article.n_submitted = submitted.get(article.pk, 0)  # type: ignore[attr-defined]
        article.my_state = mine.get(article.pk)  # type: ignore[attr-defined]


def _grouped(queryset: QuerySet, key: str) -> dict[int, int]:
    return dict(queryset.order_by().values(key).annotate(n=Count("*")).values_list(key, "n"))
