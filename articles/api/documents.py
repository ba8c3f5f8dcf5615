"""Whole documents: many claims of an article written at once (with the caller's annotations),
and an article read with its claims and their visible annotations in one request.

`POST /api/v1/articles/{id}/claims` with a JSON list (the single-object form is claims.py's):
every item is checked as one claim (and one annotation) would be; errors come back keyed
`"<index>.<field>"` (e.g. `"3.start"`, `"0.annotation.stance"`) and nothing is written.
`GET /api/v1/articles/{id}?include=claims` adds `claims` to the article: the objects of the
claims list, each with `annotations`, the ones the caller may see (blind mode as everywhere).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from articles import claim_selectors
from articles.access import Access, Kind
from articles.models import Annotation, Article, Evidence
from articles.services import MAX_BULK_CLAIMS, BulkClaims, ClaimItem, claims_create_many

from . import serializers as s
from .base import signed_in
from .exceptions import flatten_errors

INCLUDE_VALUES = ("claims",)
INCLUDE_PARAMETER = OpenApiParameter(
    "include",
    str,
    enum=list(INCLUDE_VALUES),
    description="`claims`: the article's live claims in text order, each with the annotations "
    "you may see, in the same answer.",
)


# --- Shapes ------------------------------------------------------------------------------------


class ClaimBulkItemSerializer(s.ClaimInputSerializer):
    """One claim of a list, as for one claim, with the caller's annotation of it if wanted."""

    annotation = s.AnnotationInputSerializer(required=False, allow_null=True)


class ClaimCreatedSerializer(s.ClaimSerializer):
    """A claim of the list a bulk write answers: `created` is false when the span was a live
    claim's already (reused); `annotation`, the caller's new annotation of it (or null)."""

    created = serializers.BooleanField(read_only=True, source="bulk_created")
    annotation = s.AnnotationSerializer(read_only=True, allow_null=True, source="bulk_annotation")


class ClaimWithAnnotationsSerializer(s.ClaimSerializer):
    """A claim as the claims list gives it, with the annotations the caller may see."""

    annotations = s.AnnotationSerializer(many=True, read_only=True, source="visible_annotations")


class ArticleWithClaimsSerializer(s.ArticleSerializer):
    """An article with its text; with `?include=claims`, its live claims in text order, each with
    the annotations the caller may see."""

    # Not read_only: the schema then documents `claims` as optional (only with include=claims);
    # the serializer is never given input.
    claims = ClaimWithAnnotationsSerializer(
        many=True,
        required=False,
        source="claims_included",
        help_text="With `?include=claims` only: the live claims, each with the annotations you "
        "may see.",
    )


CLAIMS_REQUEST = PolymorphicProxySerializer(
    component_name="ClaimCreate",
    serializers=[s.ClaimInputSerializer, ClaimBulkItemSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)
CLAIMS_RESPONSE = PolymorphicProxySerializer(
    component_name="ClaimCreateResponse",
    serializers=[s.ClaimSerializer, ClaimCreatedSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)
# One shape for GET /articles/{id}: `claims` is there with include=claims (a oneOf of the two
# would match both, the plain article's schema allowing other properties).
ARTICLE_RESPONSE = ArticleWithClaimsSerializer


# --- Bulk claims -------------------------------------------------------------------------------


def _item_errors(errors: Any) -> dict[str, list[str]]:
    """The list serializer's errors (by index: a list, or a dict in DRF 3.15+), as
    {"<index>.<field>": [messages]}."""
    flat: dict[str, list[str]] = {}
    pairs = errors.items() if isinstance(errors, Mapping) else enumerate(errors)
    for index, item in pairs:
        if not item:
            continue
        if not isinstance(item, Mapping):
            flat[str(index)] = [str(e) for e in flatten_errors(item).get("non_field_errors", [])]
            continue
        for field, value in item.items():
            if field == "annotation" and isinstance(value, Mapping):
                for inner, messages in flatten_errors(value).items():
                    flat[f"{index}.annotation.{inner}"] = messages
            elif field in ("non_field_errors", "__all__"):
                flat[str(index)] = [str(message) for message in value]
            else:
                for inner, messages in flatten_errors({field: value}).items():
                    flat[f"{index}.{inner}"] = messages
    return flat


def read_items(request: Request) -> list[ClaimItem]:
    """The list in the body, each item validated as one claim's input (400 keyed by index)."""
    data = request.data
    if not isinstance(data, list):
        raise ValidationError({"claims": ["Send a JSON list of claims."]})
    if not data:
        raise ValidationError({"claims": ["Send at least one claim."]})
    if len(data) > MAX_BULK_CLAIMS:
        raise ValidationError(
            {"claims": [f"At most {MAX_BULK_CLAIMS} claims in one request; got {len(data)}."]}
        )
    serializer = ClaimBulkItemSerializer(data=data, many=True)
    if not serializer.is_valid():
        raise ValidationError(_item_errors(serializer.errors))
    return [cast(ClaimItem, dict(item)) for item in serializer.validated_data]


def _with_evidence_cached(annotation: Annotation, evidence: list[Evidence]) -> None:
    """The evidence just written, as if prefetched: the serializer reads it without a query."""
    cached = Evidence.objects.none()
    cached._result_cache = evidence
    cached._prefetch_done = True  # type: ignore[attr-defined]
    annotation._prefetched_objects_cache = {"evidence": cached}  # type: ignore[attr-defined]


def create_many(request: Request, article: Article, access: Access) -> list[dict[str, Any]]:
    """Writes the list and answers it: the claims in the order given."""
    items = read_items(request)
    result: BulkClaims = claims_create_many(
        actor=signed_in(request), article=article, role=access.role, items=items
    )
    evidence_of: dict[int, list[Evidence]] = {}
    for annotation in result.annotations:
        if annotation is not None:
            evidence_of[annotation.pk] = []
    if evidence_of:
        # Written by the service a moment ago; attached to their annotations without a query.
        for written in result.evidence:
            evidence_of[written.annotation_id].append(written)
    for claim, annotation, created in zip(
        result.claims, result.annotations, result.created, strict=True
    ):
        if annotation is not None:
            _with_evidence_cached(annotation, evidence_of[annotation.pk])
        claim.bulk_created = created  # type: ignore[attr-defined]
        claim.bulk_annotation = annotation  # type: ignore[attr-defined]
    visible = access.sees_all_on(article, Kind.REVIEW, submitted=result.submitted)
    serializer = ClaimCreatedSerializer(
        result.claims, many=True, context={"reviews_visible": visible}
    )
    return list(serializer.data)


# --- One document with its claims -----------------------------------------------------------


def include_claims(request: Request) -> bool:
    """Whether `?include=claims` asks for the claims (400 naming `include` for anything else)."""
    value = request.query_params.get("include")
    if value in (None, ""):
        return False
    if value not in INCLUDE_VALUES:
        raise ValidationError(
            {"include": [f"include must be one of: {', '.join(INCLUDE_VALUES)}; got {value!r}."]}
        )
    return True


def article_with_claims(article: Article, access: Access) -> dict[str, Any]:
    claims: QuerySet = claim_selectors.claims_with_annotations(access, article)
    article.claims_included = list(claims)  # type: ignore[attr-defined]
    visible = access.sees_all_on(article, Kind.REVIEW)
    body = ArticleWithClaimsSerializer(
        article, context={"access": access, "reviews_visible": visible}
    ).data
    return dict(body)
