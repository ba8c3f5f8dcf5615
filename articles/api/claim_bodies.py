"""The claims list and the document read (`GET /articles/{id}?include=claims`), built from rows.

The serializers in serializers.py and documents.py describe these answers (the schema comes from
them) and remain the reference; building a model instance per row and running the serializers'
fields over it took most of a document read's time (the profile in bench/README.md). Here the
same JSON, key for key and value for value, comes from `values_list` rows: each builder below
mirrors one serializer, and tests/api/test_claim_bodies.py compares their output with the
serializers' byte for byte in every visibility case. Who may see what is decided as everywhere
else: `Access.visible(kind)` and `Access.sees_all_on` (access.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from articles import claim_selectors
from articles.access import Access, Kind, submitted_articles, visible_q
from articles.models import Annotation, Article, Assignment, Claim
from articles.prepared import Prepared

# --- Values as DRF's fields give them ----------------------------------------------------------


def _datetime(value: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    """serializers.DateTimeField (ISO 8601, in the current time zone, "Z" for UTC)."""
    if not value:
        return None
    value = value.astimezone(zone) if timezone.is_aware(value) else timezone.make_aware(value, zone)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _labels(value: list | None) -> list | None:
    """ListField(child=CharField())."""
    if value is None:
        return None
    return [str(item) if item is not None else None for item in value]


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# --- The article -------------------------------------------------------------------------------


def article_body(article: Article, access: Access) -> dict[str, Any]:
    """serializers.ArticleSerializer."""
    zone = timezone.get_current_timezone()
    published = article.published_on
    return {
        "id": str(article.pk),
        "corpus": _str(article.corpus.slug),
        "title": _str(article.title),
        "author": _str(article.author),
        "source_url": _str(article.source_url),
        "published_on": published.isoformat() if published else None,
        "language": _str(article.language),
        "text_sha256": _str(article.text_sha256),
        "text_version": _int(article.text_version),
        "created_at": _datetime(article.created_at, zone),
        "updated_at": _datetime(article.updated_at, zone),
        "version": _int(article.version),
        "text": _str(article.text),
        "my_role": access.role,
    }


# --- Claims ------------------------------------------------------------------------------------

# The columns of serializers.ClaimSerializer, in its order; the review's only when it is shown
# (not even joined otherwise).
CLAIM_COLUMNS = (
    "id",
    "article_id",
    "start",
    "end",
    "exact",
    "prefix",
    "suffix",
    "summary",
    "labels",
    "created_by__username",
    "created_at",
    "updated_at",
    "version",
    "anchor_status",
    "anchor_score",
    "anchor_version",
)
REVIEW_COLUMNS = (
    "review__id",
    "review__decision",
    "review__topic_id",
    "review__topic__label",
    "review__stance",
    "review__curator__username",
    "review__updated_at",
)


def claim_columns(reviews_visible: bool) -> tuple[str, ...]:
    return CLAIM_COLUMNS + REVIEW_COLUMNS if reviews_visible else CLAIM_COLUMNS


def claim_body(row: Sequence[Any], zone: dt.tzinfo, reviews_visible: bool) -> dict[str, Any]:
    """serializers.ClaimSerializer, from a row of `claim_columns(reviews_visible)`."""
    review = None
    if reviews_visible and row[16] is not None:
        # ReviewSummarySerializer
        review = {
            "decision": row[17],
            "topic": None if row[18] is None else {"id": str(row[18]), "label": _str(row[19])},
            "stance": _str(row[20]),
            "curator": _str(row[21]),
            "updated_at": _datetime(row[22], zone),
        }
    return {
        "id": str(row[0]),
        "article": str(row[1]),
        "start": _int(row[2]),
        "end": _int(row[3]),
        "exact": _str(row[4]),
        "prefix": _str(row[5]),
        "suffix": _str(row[6]),
        "summary": _str(row[7]),
        "labels": _labels(row[8]),
        "created_by": _str(row[9]),
        "created_at": _datetime(row[10], zone),
        "updated_at": _datetime(row[11], zone),
        "version": _int(row[12]),
        "anchor": {"status": row[13], "score": _float(row[14]), "version": _int(row[15])},
        "review": review,
    }


def claim_bodies(
    rows: Iterable[Sequence[Any]] | Iterable[dict[str, Any]], *, reviews_visible: bool
) -> list[dict[str, Any]]:
    """A list of claims (tuples of `claim_columns`, or the dicts of `.values()` in that order)."""
    zone = timezone.get_current_timezone()
    columns = claim_columns(reviews_visible)
    return [
        claim_body(
            row if not isinstance(row, dict) else [row[c] for c in columns], zone, reviews_visible
        )
        for row in rows
    ]


# --- Annotations, with their evidence ----------------------------------------------------------

# serializers.AnnotationSerializer's columns, then EvidenceSerializer's (one row per evidence:
# a LEFT JOIN, so an annotation without evidence is one row with the evidence columns null).
ANNOTATION_COLUMNS = (
    "claim_id",
    "id",
    "annotator__username",
    "topic_id",
    "topic__label",
    "stance",
    "labels",
    "confidence",
    "note",
    "status",
    "second_look",
    "created_at",
    "updated_at",
    "version",
    "evidence__id",
    "evidence__kind",
    "evidence__start",
    "evidence__end",
    "evidence__exact",
    "evidence__url",
    "evidence__title",
    "evidence__quote",
    "evidence__evidence_type",
    "evidence__role",
    "evidence__anchor_status",
    "evidence__anchor_score",
    "evidence__anchor_version",
)


def _evidence_body(row: Sequence[Any]) -> dict[str, Any]:
    """serializers.EvidenceSerializer, from the evidence columns of an annotation row."""
    return {
        "id": str(row[14]),
        "kind": row[15],
        "start": _int(row[16]),
        "end": _int(row[17]),
        "exact": _str(row[18]),
        "url": _str(row[19]),
        "title": _str(row[20]),
        "quote": _str(row[21]),
        "evidence_type": row[22],
        "role": row[23],
        "anchor": {"status": row[24], "score": _float(row[25]), "version": _int(row[26])},
    }


def annotations_by_claim(rows: Iterable[Sequence[Any]]) -> dict[int, list[dict[str, Any]]]:
    """serializers.AnnotationSerializer per claim id, from rows of ANNOTATION_COLUMNS ordered by
    claim, annotator's username, annotation id, then evidence position and id."""
    zone = timezone.get_current_timezone()
    by_claim: dict[int, list[dict[str, Any]]] = {}
    last_id = None
    evidence: list[dict[str, Any]] = []
    for row in rows:
        if row[1] != last_id:
            last_id = row[1]
            evidence = []
            by_claim.setdefault(row[0], []).append(
                {
                    "id": str(row[1]),
                    "claim": str(row[0]),
                    "annotator": _str(row[2]),
                    "topic": {"id": str(row[3]), "label": _str(row[4])},
                    "stance": row[5],
                    "labels": _labels(row[6]),
                    "confidence": _int(row[7]),
                    "note": _str(row[8]),
                    "status": row[9],
                    "second_look": bool(row[10]),
                    "evidence": evidence,
                    "created_at": _datetime(row[11], zone),
                    "updated_at": _datetime(row[12], zone),
                    "version": _int(row[13]),
                }
            )
        if row[14] is not None:
            evidence.append(_evidence_body(row))
    return by_claim


def annotation_rows(visible: Q, claims: QuerySet) -> QuerySet:
    """The annotations `visible` lets the caller see (access.visible(Kind.ANNOTATION)) on
    `claims` (a queryset of claims), with their evidence, as rows of ANNOTATION_COLUMNS, in the
    order annotations_by_claim reads them."""
    return (
        Annotation.objects.filter(visible, claim__in=claims.values("pk"))
        .order_by("claim_id", "annotator__username", "id", "evidence__position", "evidence__id")
        .values_list(*ANNOTATION_COLUMNS)
    )


# --- One document ------------------------------------------------------------------------------

# The document read's queries, prepared (articles/prepared.py): the same querysets as above, on
# the article's id (and the caller's, where what they may see depends on who they are).


def _document_claims(reviews_visible: bool) -> Prepared:
    return Prepared(
        Claim,
        lambda article_id: (
            claim_selectors.claims_listed(article_id)
            .order_by("start", "-end", "id")
            .values_list(*claim_columns(reviews_visible))
        ),
        int,
    )


_DOCUMENT_CLAIMS = {visible: _document_claims(visible) for visible in (False, True)}
_SUBMITTED = Prepared(
    Assignment,
    lambda article_id, user_id: (
        submitted_articles(user_id).filter(article_id=article_id).values_list("pk")[:1]
    ),
    int,
    int,
)
# by the shape of the caller's visibility rule: (role, blind corpus)
_DOCUMENT_ANNOTATIONS: dict[tuple[str, bool], Prepared] = {}


def _document_annotations(access: Access) -> tuple[Prepared, bool]:
    """The prepared annotations of a document as `access` may see them, and whether it takes
    the caller's id (the rule depends on who they are) besides the article's."""
    key = (access.role, bool(access.corpus.blind))
    by_user = access.visible(Kind.ANNOTATION) != Q()
    if key not in _DOCUMENT_ANNOTATIONS:
        role, blind = key

        def build(article_id: int, user_id: int | None = None) -> QuerySet:
            visible = visible_q(Kind.ANNOTATION, user_id=user_id, role=role, blind=blind)  # type: ignore[arg-type]
            claims = claim_selectors.claims_listed(article_id)  # type: ignore[arg-type]
            return annotation_rows(visible, claims)

        kinds = (int, int) if by_user else (int,)
        _DOCUMENT_ANNOTATIONS[key] = Prepared(Annotation, build, *kinds)
    return _DOCUMENT_ANNOTATIONS[key], by_user


def reviews_visible(access: Access, article: Article) -> bool:
    """access.sees_all_on(article, Kind.REVIEW), with its query prepared."""
    if access.sees_everything(Kind.REVIEW):
        return True
    submitted = bool(_SUBMITTED.rows(int(article.pk), access.user_id))
    return access.sees_all_on(article, Kind.REVIEW, submitted=submitted)


def article_with_claims(article: Article, access: Access) -> dict[str, Any]:
    """documents.ArticleWithClaimsSerializer: the article, its live claims in text order, each
    with the annotations the caller may see. Two queries after the article's (three for an
    annotator, who may not see the reviews until they submit)."""
    visible = reviews_visible(access, article)
    bodies = claim_bodies(_DOCUMENT_CLAIMS[visible].rows(int(article.pk)), reviews_visible=visible)
    annotations: dict[int, list[dict[str, Any]]] = {}
    if bodies:
        prepared, by_user = _document_annotations(access)
        arguments = (int(article.pk), access.user_id) if by_user else (int(article.pk),)
        annotations = annotations_by_claim(prepared.rows(*arguments))
    for body in bodies:
        body["annotations"] = annotations.get(int(body["id"]), [])
    return {**article_body(article, access), "claims": bodies}
