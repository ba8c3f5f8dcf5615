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

from .renderers import PlainBody, plain_float

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
    # (plain_float: the renderer's orjson writes it as DRF's json.dumps would, or it is not used)
    return None if value is None else plain_float(float(value))


class _Dates(dict):
    """_datetime of each value met while building one answer, each worked out once: a claim's
    `updated_at` is often its `created_at`, and the rows of one import or list write share one."""

    def __init__(self) -> None:
        super().__init__()
        self.zone = timezone.get_current_timezone()

    def __missing__(self, value: dt.datetime | None) -> str | None:
        text = self[value] = _datetime(value, self.zone)
        return text


# --- The article -------------------------------------------------------------------------------


def article_body(article: Article, access: Access) -> PlainBody:
    """serializers.ArticleSerializer."""
    zone = timezone.get_current_timezone()
    published = article.published_on
    return PlainBody(
        {
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
    )


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


def claim_body(row: Sequence[Any], dates: _Dates, reviews_visible: bool) -> dict[str, Any]:
    """serializers.ClaimSerializer, from a row of `claim_columns(reviews_visible)`."""
    review = None
    if reviews_visible and row[16] is not None:
        # ReviewSummarySerializer
        review = {
            "decision": row[17],
            "topic": None if row[18] is None else {"id": str(row[18]), "label": _str(row[19])},
            "stance": _str(row[20]),
            "curator": _str(row[21]),
            "updated_at": dates[row[22]],
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
        "created_at": dates[row[10]],
        "updated_at": dates[row[11]],
        "version": _int(row[12]),
        "anchor": {"status": row[13], "score": _float(row[14]), "version": _int(row[15])},
        "review": review,
    }


def claim_bodies(
    rows: Iterable[Sequence[Any]] | Iterable[dict[str, Any]], *, reviews_visible: bool
) -> list[dict[str, Any]]:
    """A list of claims (tuples of `claim_columns`, or the dicts of `.values()` in that order)."""
    dates = _Dates()
    columns = claim_columns(reviews_visible)
    return [
        claim_body(
            row if not isinstance(row, dict) else [row[c] for c in columns], dates, reviews_visible
        )
        for row in rows
    ]


# --- One document: its claims with their annotations and evidence, in one query ---------------

# serializers.AnnotationSerializer's columns, then EvidenceSerializer's, reached from a claim
# through `relation` (LEFT JOINs: one row per evidence, an annotation without evidence is one row
# with the evidence columns null, a claim without annotations one row with both null).
ANNOTATION_FIELDS = (
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
_EVIDENCE = ANNOTATION_FIELDS.index("evidence__id")


def _evidence_body(row: Sequence[Any], e: int) -> dict[str, Any]:
    """serializers.EvidenceSerializer, from the evidence columns starting at `e`."""
    return {
        "id": str(row[e]),
        "kind": row[e + 1],
        "start": _int(row[e + 2]),
        "end": _int(row[e + 3]),
        "exact": _str(row[e + 4]),
        "url": _str(row[e + 5]),
        "title": _str(row[e + 6]),
        "quote": _str(row[e + 7]),
        "evidence_type": row[e + 8],
        "role": row[e + 9],
        "anchor": {
            "status": row[e + 10],
            "score": _float(row[e + 11]),
            "version": _int(row[e + 12]),
        },
    }


def _annotation_body(row: Sequence[Any], a: int, claim_id: str, dates: _Dates) -> dict:
    """serializers.AnnotationSerializer (its evidence added after), from columns starting at `a`."""
    return {
        "id": str(row[a]),
        "claim": claim_id,
        "annotator": _str(row[a + 1]),
        "topic": {"id": str(row[a + 2]), "label": _str(row[a + 3])},
        "stance": row[a + 4],
        "labels": _labels(row[a + 5]),
        "confidence": _int(row[a + 6]),
        "note": _str(row[a + 7]),
        "status": row[a + 8],
        "second_look": bool(row[a + 9]),
        "evidence": [],
        "created_at": dates[row[a + 10]],
        "updated_at": dates[row[a + 11]],
        "version": _int(row[a + 12]),
    }


def document_rows(article: Any, *, reviews_visible: bool) -> QuerySet:
    """The article's live claims in text order (claims_listed), each joined to all its
    annotations and their evidence (for a caller who sees everyone's work on the article), as
    rows of claim_columns + ANNOTATION_FIELDS through "annotations"."""
    return (
        claim_selectors.claims_listed(article)
        .order_by(
            "start",
            "-end",
            "id",
            "annotations__annotator__username",
            "annotations__id",
            "annotations__evidence__position",
            "annotations__evidence__id",
        )
        .values_list(
            *claim_columns(reviews_visible), *(f"annotations__{name}" for name in ANNOTATION_FIELDS)
        )
    )


def own_annotation_rows(article: Any, visible: Q) -> QuerySet:
    """For a caller who may see only part of the work on the article: the annotations `visible`
    (access.visible(Kind.ANNOTATION)) lets them see on its live claims, with their evidence, as
    rows of "claim_id" + ANNOTATION_FIELDS, by claim then in the order of document_rows."""
    claims = claim_selectors.claims_listed(article).values("pk")
    return (
        Annotation.objects.filter(visible, claim__in=claims)
        .order_by("claim_id", "annotator__username", "id", "evidence__position", "evidence__id")
        .values_list("claim_id", *ANNOTATION_FIELDS)
    )


def document_claims(rows: Iterable[Sequence[Any]], *, reviews_visible: bool) -> list[dict]:
    """documents.ClaimWithAnnotationsSerializer for each claim of `document_rows`."""
    dates = _Dates()
    a = len(claim_columns(reviews_visible))
    e = a + _EVIDENCE
    claims: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    last_claim = last_annotation = None
    for row in rows:
        if row[0] != last_claim:
            last_claim, last_annotation = row[0], None
            claim = claim_body(row, dates, reviews_visible)
            annotations = claim["annotations"] = []
            claims.append(claim)
        if row[a] is not None and row[a] != last_annotation:
            last_annotation = row[a]
            annotation = _annotation_body(row, a, str(row[0]), dates)
            evidence = annotation["evidence"]
            annotations.append(annotation)
        if row[e] is not None:
            evidence.append(_evidence_body(row, e))
    return claims


def claims_with_own_annotations(
    claim_rows: Iterable[Sequence[Any]],
    annotation_rows: Iterable[Sequence[Any]],
    *,
    reviews_visible: bool,
) -> list[dict]:
    """documents.ClaimWithAnnotationsSerializer from claim rows (claim_columns) and the rows of
    own_annotation_rows."""
    dates = _Dates()
    by_claim: dict[Any, list[dict[str, Any]]] = {}
    evidence: list[dict[str, Any]] = []
    last_annotation = None
    for row in annotation_rows:
        if row[1] != last_annotation:
            last_annotation = row[1]
            annotation = _annotation_body(row, 1, str(row[0]), dates)
            evidence = annotation["evidence"]
            by_claim.setdefault(row[0], []).append(annotation)
        if row[1 + _EVIDENCE] is not None:
            evidence.append(_evidence_body(row, 1 + _EVIDENCE))
    claims = []
    for row in claim_rows:
        claim = claim_body(row, dates, reviews_visible)
        claim["annotations"] = by_claim.get(row[0], [])
        claims.append(claim)
    return claims


# The document read's queries, prepared (articles/prepared.py): for a caller who sees all the
# work on the article, one query by whether the reviews are shown; for one who sees part of it,
# the claims and the annotations they may see, by the shape of their visibility rule.
_DOCUMENT = {
    reviews: Prepared(
        Claim, lambda article_id, r=reviews: document_rows(article_id, reviews_visible=r), int
    )
    for reviews in (False, True)
}
CLAIMS_ORDER = ("start", "-end", "id")  # the claims list's, and the document's
_CLAIMS = {
    reviews: Prepared(
        Claim,
        lambda article_id, r=reviews: (
            claim_selectors.claims_listed(article_id)
            .order_by(*CLAIMS_ORDER)
            .values_list(*claim_columns(r))
        ),
        int,
    )
    for reviews in (False, True)
}
_OWN_ANNOTATIONS: dict[tuple[str, bool], Prepared] = {}
# The claims list's first page (`limit` rows, one more than the page size), by page size
# (pagination.PREPARED_PAGE_SIZES).
_FIRST_CLAIMS: dict[tuple[bool, int], Prepared] = {}


def first_claims(article_id: int, *, reviews_visible: bool, limit: int) -> list[dict[str, Any]]:
    """The first `limit` live claims of the article in the claims list's order, as the dicts
    of `.values(*claim_columns(reviews_visible))`."""
    key = (reviews_visible, limit)
    if key not in _FIRST_CLAIMS:
        _FIRST_CLAIMS[key] = Prepared(
            Claim,
            lambda article_id, r=reviews_visible, n=limit: (
                claim_selectors.claims_listed(article_id)
                .order_by(*CLAIMS_ORDER)
                .values_list(*claim_columns(r))[:n]
            ),
            int,
        )
    columns = claim_columns(reviews_visible)
    return [dict(zip(columns, row, strict=True)) for row in _FIRST_CLAIMS[key].rows(article_id)]


def _own_annotations(access: Access) -> Prepared:
    """own_annotation_rows(article id, user id) prepared for callers of `access`'s role and
    corpus (blind or not): the shape of their visibility rule."""
    key = (access.role, bool(access.corpus.blind))
    if key not in _OWN_ANNOTATIONS:
        role, blind = key

        def build(article_id: int, user_id: int) -> QuerySet:
            visible = visible_q(Kind.ANNOTATION, user_id=user_id, role=role, blind=blind)
            return own_annotation_rows(article_id, visible)

        _OWN_ANNOTATIONS[key] = Prepared(Annotation, build, int, int)
    return _OWN_ANNOTATIONS[key]


_SUBMITTED = Prepared(
    Assignment,
    lambda article_id, user_id: (
        submitted_articles(user_id).filter(article_id=article_id).values_list("pk")[:1]
    ),
    int,
    int,
)


def _submitted(access: Access, article: Article) -> bool | None:
    """Whether the caller submitted `article`, when what they may see depends on it (else None,
    without a query)."""
    if access.sees_everything(Kind.REVIEW) and access.sees_everything(Kind.ANNOTATION):
        return None
    return bool(_SUBMITTED.rows(int(article.pk), access.user_id))


def reviews_visible(access: Access, article: Article) -> bool:
    """access.sees_all_on(article, Kind.REVIEW), with its query prepared."""
    if access.sees_everything(Kind.REVIEW):
        return True
    return access.sees_all_on(article, Kind.REVIEW, submitted=_submitted(access, article))


def article_with_claims(article: Article, access: Access) -> PlainBody:
    """documents.ArticleWithClaimsSerializer: the article, its live claims in text order, each
    with the annotations the caller may see. One query after the article's when the caller sees
    all the work on it; else whether they submitted it, the claims, their own annotations."""
    submitted = _submitted(access, article)
    reviews = access.sees_all_on(article, Kind.REVIEW, submitted=submitted)
    pk = int(article.pk)
    if access.sees_all_on(article, Kind.ANNOTATION, submitted=submitted):
        claims = document_claims(_DOCUMENT[reviews].rows(pk), reviews_visible=reviews)
    else:
        claim_rows = _CLAIMS[reviews].rows(pk)
        own = _own_annotations(access).rows(pk, access.user_id) if claim_rows else []
        claims = claims_with_own_annotations(claim_rows, own, reviews_visible=reviews)
    body = article_body(article, access)
    body["claims"] = claims
    return body
