"""Whole documents: many claims of an article written at once (with the caller's annotations),
and an article read with its claims and their visible annotations in one request.

`POST /api/v1/articles/{id}/claims` with a JSON list (the single-object form is claims.py's):
every item is checked as one claim (and one annotation) would be; errors come back keyed
`"<index>.<field>"` (e.g. `"3.start"`, `"0.annotation.stance"`) and nothing is written.
`GET /api/v1/articles/{id}?include=claims` adds `claims` to the article: the objects of the
claims list, each with `annotations`, the ones the caller may see (blind mode as everywhere).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from articles import claim_selectors, validators
from articles.access import Access, Kind
from articles.models import Article, Claim
from articles.services import MAX_BULK_CLAIMS, BulkClaims, ClaimItem, claims_create_many
from articles.services.claims_bulk import NewAnnotation

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
    plain = [plain_item(item) for item in data]
    if all(item is not None for item in plain):
        return cast(list[ClaimItem], plain)
    serializer = ClaimBulkItemSerializer(data=data, many=True)
    if not serializer.is_valid():
        raise ValidationError(_item_errors(serializer.errors))
    return [cast(ClaimItem, dict(item)) for item in serializer.validated_data]


# The serializer's fields, checked by the same validators, for items in the shape clients send:
# each value of its JSON type and valid. Anything else (a number as text, a blank topic, a wrong
# type, evidence, a bad value) goes to the serializer, which cleans and words it as always.
class _NotPlain(Exception):
    pass


_UNSAFE = re.compile("[\x00\ud800-\udfff]")  # what DRF's CharField refuses


def _whole(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    raise _NotPlain


def _text(*, blank: bool, trimmed: bool = False) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        if type(value) is not str or _UNSAFE.search(value):
            raise _NotPlain
        if (not blank and value == "") or (trimmed and value != value.strip()):
            raise _NotPlain
        return value

    return parse


def _checked(check: Callable[[Any, str], Any], name: str, kind: type) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if type(value) is not kind:
            raise _NotPlain
        return check(value, name)

    return parse


_free_text = partial(validators.validate_text, max_chars=validators.MAX_NOTE_CHARS)
_summary = partial(validators.validate_text, max_chars=validators.MAX_SUMMARY_CHARS)
_PLAIN_ANNOTATION: dict[str, Callable[[Any], Any]] = {
    "topic": _text(blank=False, trimmed=True),
    "stance": _checked(validators.validate_stance, "stance", str),
    "labels": _checked(validators.validate_labels, "labels", list),
    "confidence": lambda v: (
        None if v is None else _checked(validators.validate_confidence, "confidence", int)(v)
    ),
    "note": _checked(_free_text, "note", str),
    "evidence": lambda v: [] if v == [] and type(v) is list else _not_plain(),
}


def _not_plain() -> Any:
    raise _NotPlain


def _plain_annotation(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict or "stance" not in value:
        raise _NotPlain
    return {k: parse(value[k]) for k, parse in _PLAIN_ANNOTATION.items() if k in value}


_PLAIN_CLAIM: dict[str, Callable[[Any], Any]] = {
    "start": _whole,
    "end": _whole,
    "exact": _text(blank=False),
    "prefix": _text(blank=True),
    "suffix": _text(blank=True),
    "summary": _checked(_summary, "summary", str),
    "labels": _checked(validators.validate_labels, "labels", list),
    "annotation": _plain_annotation,
}


def plain_item(item: Any) -> dict[str, Any] | None:
    """The item as ClaimBulkItemSerializer validates it, when it is in the shape clients send;
    None otherwise (the serializer then judges every item, and words any mistake)."""
    if type(item) is not dict:
        return None
    try:
        # Keys the serializer does not know are left out, as it leaves them.
        return {k: parse(item[k]) for k, parse in _PLAIN_CLAIM.items() if k in item}
    except (_NotPlain, DjangoValidationError):
        return None


def create_many(request: Request, article: Article, access: Access) -> list[dict[str, Any]]:
    """Writes the list and answers it: the claims in the order given, each as
    ClaimCreatedSerializer gives it (built from the rows written, without a model instance)."""
    items = read_items(request)
    actor = signed_in(request)
    result: BulkClaims = claims_create_many(
        actor=actor, article=article, role=access.role, items=items
    )
    at = _DATETIME.to_representation(result.at)
    article_id = str(article.pk)
    visible: bool | None = None
    body: list[dict[str, Any]] = []
    for claim, annotation, created in zip(
        result.claims, result.annotations, result.created, strict=True
    ):
        if isinstance(claim, Claim):  # a live claim reused: its review may be visible
            if visible is None:
                visible = access.sees_all_on(article, Kind.REVIEW, submitted=result.submitted)
            shown = dict(s.ClaimSerializer(claim, context={"reviews_visible": visible}).data)
        else:
            shown = _new_claim(claim, article_id, actor.username, at)
        shown["created"] = created
        shown["annotation"] = (
            None if annotation is None else _new_annotation(annotation, actor.username, at)
        )
        body.append(shown)
    return body


_DATETIME = serializers.DateTimeField()


def _anchor(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "status": row["anchor_status"],
        "score": float(row["anchor_score"]),
        "version": row["anchor_version"],
    }


def _new_claim(row: Mapping[str, Any], article_id: str, username: str, at: str) -> dict[str, Any]:
    """A new claim's row as ClaimSerializer shows it (a new claim has no review)."""
    return {
        "id": str(row["id"]),
        "article": article_id,
        "start": row["start"],
        "end": row["end"],
        "exact": row["exact"],
        "prefix": row["prefix"],
        "suffix": row["suffix"],
        "summary": row["summary"],
        "labels": list(row["labels"]),
        "created_by": username,
        "created_at": at,
        "updated_at": at,
        "version": row["version"],
        "anchor": _anchor(row),
        "review": None,
    }


def _new_annotation(annotation: NewAnnotation, username: str, at: str) -> dict[str, Any]:
    """A new annotation's row as AnnotationSerializer shows it."""
    row: Mapping[str, Any] = annotation.row
    topic = annotation.topic
    return {
        "id": str(row["id"]),
        "claim": str(row["claim_id"]),
        "annotator": username,
        "topic": {"id": str(topic.pk), "label": topic.label},
        "stance": row["stance"],
        "labels": list(row["labels"]),
        "confidence": row["confidence"],
        "note": row["note"],
        "status": row["status"],
        "second_look": bool(row["second_look"]),
        "evidence": [_new_evidence(e) for e in annotation.evidence],
        "created_at": at,
        "updated_at": at,
        "version": row["version"],
    }


def _new_evidence(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "start": row["start"],
        "end": row["end"],
        "exact": row["exact"],
        "url": row["url"],
        "title": row["title"],
        "quote": row["quote"],
        "evidence_type": row["evidence_type"],
        "role": row["role"],
        "anchor": _anchor(row),
    }


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
