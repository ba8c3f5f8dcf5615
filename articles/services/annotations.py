"""Annotations (an annotator's topic, stance and labels for a claim) and their evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import validators
from ..models import (
    EVIDENCE_FIELDS,
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Evidence,
    Topic,
)
from ..permissions import Action, can_delete_annotation, can_edit_annotation, ensure, ensure_that
from ..validators import (  # noqa: F401  (re-exported as services.MAX_EVIDENCE, ...)
    MAX_EVIDENCE,
    EvidenceFields,
    keyed,
)
from .base import (
    User,
    Version,
    _create_unique,
    _snapshot,
    audit,
    check_version,
    clean_free_text,
    clean_labels,
)
from .corpora import _resolve_topic

# claim_id lets a claim's history find events of annotations and reviews deleted since.
ANNOTATION_FIELDS = ("claim_id", "topic", "stance", "labels", "confidence", "note", "status")


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


def clean_confidence(value: object) -> int | None:
    return keyed("confidence", validators.validate_confidence, value)


def clean_evidence(article: Article, items: object) -> list[EvidenceFields]:
    """Validate a list of evidence items; every bad item is reported with its number."""
    return keyed("evidence", validators.validate_evidence, article.text, items)


def _evidence_snapshot(annotation: Annotation) -> list[dict[str, object]]:
    return [_snapshot(e, EVIDENCE_FIELDS) for e in annotation.evidence.order_by("position", "id")]


def clean_annotation(
    article: Article,
    *,
    stance: object,
    topic: Topic | int | str | None = None,
    labels: object = None,
    confidence: object = None,
    note: object = "",
    evidence: object = None,
    topics: Sequence[Topic] | None = None,
) -> tuple[_AnnotationFields, list[EvidenceFields]]:
    """A new annotation's fields and evidence on `article`, checked (one ValidationError keyed
    by field); `topics`, the corpus's topics in order when the caller has them (no query)."""
    corpus = article.corpus
    data: _AnnotationFields = {
        "topic": _resolve_topic(corpus, topic, topics=topics),
        "stance": keyed("stance", validators.validate_stance, stance),
        "labels": clean_labels(labels, "labels", allowed=corpus.claim_labels),
        "confidence": clean_confidence(confidence),
        "note": clean_free_text(note, "note").strip(),
    }
    return data, clean_evidence(article, evidence)


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
    data, items = clean_annotation(
        claim.article,
        stance=stance,
        topic=topic,
        labels=labels,
        confidence=confidence,
        note=note,
        evidence=evidence,
    )
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
    return annotation


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
        data["stance"] = keyed("stance", validators.validate_stance, changes["stance"])
    if "labels" in changes:
        data["labels"] = clean_labels(changes["labels"], "labels", allowed=corpus.claim_labels)
    if "confidence" in changes:
        data["confidence"] = clean_confidence(changes["confidence"])
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
        current.second_look = False  # saving is looking again (see services.versions)
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
    return current


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
