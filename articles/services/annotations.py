"""Annotations (an annotator's topic, stance and labels for a claim) and their evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import anchoring
from ..models import (
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Evidence,
    EvidenceKind,
    EvidenceRole,
    EvidenceType,
    Stance,
    Topic,
)
from ..permissions import Action, can_delete_annotation, can_edit_annotation, ensure, ensure_that
from .base import (
    User,
    Version,
    _choice,
    _create_unique,
    _snapshot,
    _with_role,
    audit,
    check_version,
    clean_free_text,
    clean_labels,
    clean_line,
    clean_url,
)
from .corpora import _resolve_topic

# claim_id lets a claim's history find events of annotations and reviews deleted since.
ANNOTATION_FIELDS = ("claim_id", "topic", "stance", "labels", "confidence", "note", "status")

MAX_EVIDENCE = 100


class EvidenceInput(TypedDict, total=False):
    """An evidence item as a form or the API gives it: a span of the article (offsets or a quote,
    as for a claim) or an outside source (url, title, quote). Kind defaults from what is given."""

    kind: str
    evidence_type: str
    role: str
    start: int | str | None
    end: int | str | None
    exact: str | None
    prefix: str | None
    suffix: str | None
    url: str
    title: str
    quote: str


class EvidenceFields(TypedDict, total=False):
    """A cleaned evidence item, ready for Evidence(**fields): a span or a source's fields."""

    kind: str
    evidence_type: str
    role: str
    start: int
    end: int
    exact: str
    url: str
    title: str
    quote: str


class AnnotationChanges(TypedDict, total=False):
    """What annotation_update may change; `evidence`, when given, replaces the whole list."""

    topic: Topic | int | str | None
    stance: str
    labels: Sequence[str]
    confidence: int | str | None
    note: str
    evidence: Sequence[EvidenceInput]


class _AnnotationFields(TypedDict, total=False):
    topic: Topic
    stance: str
    labels: list[str]
    confidence: int | None
    note: str


def _clean_confidence(value: object) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({"confidence": ["confidence must be a whole number from 1 to 5."]})
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(
            {"confidence": ["confidence must be a whole number from 1 to 5."]}
        ) from None
    if not 1 <= number <= 5:
        raise ValidationError({"confidence": [f"confidence must be from 1 to 5; got {number}."]})
    return number


def clean_evidence(article: Article, items: object) -> list[EvidenceFields]:
    """Validate a list of evidence items; every bad item is reported with its number."""
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise ValidationError({"evidence": ["evidence must be a list."]})
    if len(items) > MAX_EVIDENCE:
        raise ValidationError({"evidence": [f"At most {MAX_EVIDENCE} evidence items."]})
    cleaned: list[EvidenceFields] = []
    errors: list[str] = []
    for number, item in enumerate(items, start=1):
        try:
            cleaned.append(_clean_evidence_item(article, item))
        except ValidationError as error:
            details = (
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
                if hasattr(error, "error_dict")
                else " ".join(error.messages)
            )
            errors.append(f"Evidence {number}: {details}")
    if errors:
        raise ValidationError({"evidence": errors})
    return cleaned


def _clean_evidence_item(article: Article, item: object) -> EvidenceFields:
    if not isinstance(item, Mapping):
        raise ValidationError("each evidence item must be an object.")
    kind = item.get("kind") or (
        EvidenceKind.SOURCE
        if any(item.get(k) for k in ("url", "title", "quote"))
        else EvidenceKind.SPAN
    )
    kind = _choice(kind, "kind", EvidenceKind)
    data: EvidenceFields = {
        "kind": kind,
        "evidence_type": _choice(
            item.get("evidence_type") or "other", "evidence_type", EvidenceType
        ),
        "role": _choice(item.get("role") or "supports", "role", EvidenceRole),
    }
    if kind == EvidenceKind.SPAN:
        span = anchoring.resolve_span(
            article.text,
            start=item.get("start"),
            end=item.get("end"),
            exact=item.get("exact"),
            prefix=item.get("prefix"),
            suffix=item.get("suffix"),
        )
        data.update({"start": span.start, "end": span.end, "exact": span.exact})
    else:
        url = clean_url(item.get("url"), "url")
        title = clean_line(item.get("title"), "title", max_chars=500)
        quote = clean_free_text(item.get("quote"), "quote", max_chars=5000).strip()
        data.update({"url": url, "title": title, "quote": quote})
        if not (url or title or quote):
            raise ValidationError({"url": ["A source needs a url, a title or a quote."]})
    return data


# What an evidence item is made of: what clean_evidence takes and what the audit records.
EVIDENCE_FIELDS = (
    "kind",
    "start",
    "end",
    "exact",
    "url",
    "title",
    "quote",
    "evidence_type",
    "role",
)


def _evidence_snapshot(annotation: Annotation) -> list[dict[str, object]]:
    return [_snapshot(e, EVIDENCE_FIELDS) for e in annotation.evidence.order_by("position", "id")]


def annotation_create(
    *,
    actor: User,
    claim: Claim,
    role: str | None,
    stance: str,
    topic: Topic | int | str | None = None,
    labels: Sequence[str] | None = None,
    confidence: int | str | None = None,
    note: str = "",
    evidence: Sequence[EvidenceInput] | None = None,
) -> Annotation:
    """Creates the actor's own annotation of the claim (one per claim and annotator)."""
    ensure(role, Action.ANNOTATE)
    corpus = claim.article.corpus
    data: _AnnotationFields = {
        "topic": _resolve_topic(corpus, topic),
        "stance": _choice(stance, "stance", Stance),
        "labels": clean_labels(labels, "labels", allowed=corpus.claim_labels),
        "confidence": _clean_confidence(confidence),
        "note": clean_free_text(note, "note").strip(),
    }
    items = clean_evidence(claim.article, evidence)
    submitted = Assignment.objects.filter(
        article_id=claim.article_id, annotator=actor, state=AssignmentState.SUBMITTED
    ).exists()
    with transaction.atomic():
        annotation = _create_unique(
            lambda: Annotation.objects.create(
                claim=claim,
                annotator=actor,
                status=AnnotationStatus.SUBMITTED if submitted else AnnotationStatus.DRAFT,
                **data,
            ),
            "You have annotated this claim already; edit your annotation instead.",
        )
        Evidence.objects.bulk_create(
            Evidence(annotation=annotation, position=i, **item) for i, item in enumerate(items)
        )
        audit(
            actor=actor,
            verb="annotation.create",
            obj=annotation,
            corpus=corpus,
            after={**_snapshot(annotation, ANNOTATION_FIELDS), "evidence": items},
        )
    return _with_role(annotation, role)


def annotation_update(
    *,
    actor: User,
    annotation: Annotation,
    role: str | None,
    version: Version = None,
    **changes: Unpack[AnnotationChanges],
) -> Annotation:
    """Changes the actor's own annotation. `evidence`, when given, replaces the whole list."""
    ensure_that(
        can_edit_annotation(user=actor, role=role, annotation=annotation),
        "Only the annotator who wrote this annotation may change it.",
    )
    unknown = set(changes) - {"topic", "stance", "labels", "confidence", "note", "evidence"}
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here."] for f in unknown})
    claim = annotation.claim
    corpus = claim.article.corpus
    data: _AnnotationFields = {}
    if "topic" in changes:
        data["topic"] = _resolve_topic(corpus, changes["topic"])
    if "stance" in changes:
        data["stance"] = _choice(changes["stance"], "stance", Stance)
    if "labels" in changes:
        data["labels"] = clean_labels(changes["labels"], "labels", allowed=corpus.claim_labels)
    if "confidence" in changes:
        data["confidence"] = _clean_confidence(changes["confidence"])
    if "note" in changes:
        data["note"] = clean_free_text(changes["note"], "note").strip()
    items = clean_evidence(claim.article, changes["evidence"]) if "evidence" in changes else None
    with transaction.atomic():
        current = Annotation.objects.select_for_update().get(pk=annotation.pk)
        check_version(current, version)
        before = {**_snapshot(current, ANNOTATION_FIELDS), "evidence": _evidence_snapshot(current)}
        for name, value in data.items():
            setattr(current, name, value)
        if items is not None:
            current.evidence.all().delete()
            Evidence.objects.bulk_create(
                Evidence(annotation=current, position=i, **item) for i, item in enumerate(items)
            )
        current.version += 1
        current.save()
        audit(
            actor=actor,
            verb="annotation.update",
            obj=current,
            corpus=corpus,
            before=before,
            after={
                **_snapshot(current, ANNOTATION_FIELDS),
                "evidence": _evidence_snapshot(current),
            },
        )
    current.claim = claim
    return _with_role(current, role)


def annotation_delete(*, actor: User, annotation: Annotation, role: str | None) -> None:
    ensure_that(
        can_delete_annotation(user=actor, role=role, annotation=annotation),
        "Only the annotator who wrote this annotation (or an owner) may delete it.",
    )
    with transaction.atomic():
        audit(
            actor=actor,
            verb="annotation.delete",
            obj=annotation,
            corpus=annotation.claim.article.corpus,
            before={
                **_snapshot(annotation, ANNOTATION_FIELDS),
                "evidence": _evidence_snapshot(annotation),
            },
        )
        annotation.delete()
