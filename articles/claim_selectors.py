"""Reads of an article's claims for the API: only what the claims list and the document read
show, in a fixed number of queries (the annotation page's richer read is
selectors.claims_for_article)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .access import Access, Kind
from .models import Annotation, Article, Claim
from .selectors import annotations_prefetch


def claims_listed(article: Article) -> QuerySet[Claim]:
    """The article's live claims with what the claims list shows: the creator, and the review
    (shown only to those who may see it: the serializer is told by the view)."""
    return (
        Claim.objects.alive()
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
