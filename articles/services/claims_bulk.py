"""Many claims of one article at once, each optionally with the caller's annotation: all or
nothing, in a fixed number of queries however many items there are.

The checks are those of one claim (anchoring.resolve_span, the summary and labels cleaners) and
of one annotation (annotations.clean_annotation); errors are keyed `"<index>.<field>"`, and one
bad item writes nothing. A span equal to a live claim's (or to an earlier item's) reuses that
claim for the annotation instead of marking the span twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .. import anchoring
from ..models import (
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    AuditEvent,
    Claim,
    Evidence,
    Topic,
)
from ..permissions import Action, ensure
from ..validators import EvidenceFields
from .annotations import ANNOTATION_FIELDS, EvidenceInput, _AnnotationFields, clean_annotation
from .base import Conflict, User, _snapshot, audit_event, clean_free_text, clean_labels
from .claims import CLAIM_FIELDS

MAX_BULK_CLAIMS = 1000


class AnnotationItem(TypedDict, total=False):
    """The caller's annotation of an item's claim, as annotation_create takes it."""

    topic: Topic | int | str | None
    stance: str
    labels: Sequence[str]
    confidence: int | str | None
    note: str
    evidence: Sequence[EvidenceInput]


class ClaimItem(TypedDict, total=False):
    """One claim of a list, as claim_create takes it, with the caller's annotation if wanted."""

    start: int | str | None
    end: int | str | None
    exact: str | None
    prefix: str | None
    suffix: str | None
    summary: str
    labels: Sequence[str]
    annotation: AnnotationItem | None


@dataclass
class _Item:
    span: anchoring.Span
    summary: str
    labels: list[str]
    annotation: tuple[_AnnotationFields, list[EvidenceFields]] | None


@dataclass
class BulkClaims:
    """What claims_create_many wrote: per item, its claim (new or reused) and the caller's new
    annotation (None when the item had none); `submitted`, whether the caller had submitted the
    article (what blind mode and the review's visibility turn on)."""

    claims: list[Claim]
    annotations: list[Annotation | None]
    created: list[bool]
    submitted: bool
    evidence: list[Evidence]


def clean_claim(article: Article, item: ClaimItem) -> tuple[anchoring.Span, str, list[str]]:
    """One claim's span, summary and labels, checked as claim_create checks them."""
    span = anchoring.resolve_span(
        article.text,
        start=item.get("start"),
        end=item.get("end"),
        exact=item.get("exact"),
        prefix=item.get("prefix"),
        suffix=item.get("suffix"),
    )
    summary = clean_free_text(item.get("summary", ""), "summary", max_chars=2000).strip()
    labels = clean_labels(item.get("labels"), "labels", allowed=article.corpus.claim_labels)
    return span, summary, labels


def _clean_item(article: Article, topics: list[Topic], item: ClaimItem) -> _Item:
    errors: dict[str, list[str]] = {}
    span: anchoring.Span | None = None
    summary, labels = "", list[str]()
    try:
        span, summary, labels = clean_claim(article, item)
    except ValidationError as error:
        errors.update(error.message_dict)
    annotation = None
    given = item.get("annotation")
    if given is not None:
        try:
            annotation = clean_annotation(
                article,
                topics=topics,
                stance=given.get("stance"),
                topic=given.get("topic"),
                labels=given.get("labels"),
                confidence=given.get("confidence"),
                note=given.get("note", ""),
                evidence=given.get("evidence"),
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"annotation.{field}"] = messages
    if errors:
        raise ValidationError(errors)
    assert span is not None
    return _Item(span=span, summary=summary, labels=labels, annotation=annotation)


def _by_index(errors: dict[str, list[str]], index: int, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        errors[f"{index}.{field}"] = messages


def claims_create_many(
    *, actor: User, article: Article, role: str | None, items: Sequence[ClaimItem]
) -> BulkClaims:
    """Marks every item's span on `article` (or reuses the live claim at that span) and creates
    the caller's annotation where an item has one; all or nothing (ValidationError keyed
    `"<index>.<field>"`)."""
    ensure(role, Action.ANNOTATE)
    if not items:
        raise ValidationError({"claims": ["Send at least one claim."]})
    if len(items) > MAX_BULK_CLAIMS:
        raise ValidationError(
            {"claims": [f"At most {MAX_BULK_CLAIMS} claims in one request; got {len(items)}."]}
        )
    corpus = article.corpus
    wants_annotation = any(item.get("annotation") is not None for item in items)
    topics = (
        list(Topic.objects.filter(corpus=corpus).order_by("position", "id"))
        if wants_annotation
        else []
    )
    errors: dict[str, list[str]] = {}
    cleaned: list[_Item] = []
    for index, item in enumerate(items):
        try:
            cleaned.append(_clean_item(article, topics, item))
        except ValidationError as error:
            _by_index(errors, index, error)
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        # Bulk writes to one article take turns, so two of them never mark the same span twice.
        list(Article.objects.select_for_update().filter(pk=article.pk).values_list("pk"))
        spans = {(c.span.start, c.span.end) for c in cleaned}
        existing: dict[tuple[int, int], Claim] = {}
        for claim in (
            Claim.objects.alive()
            .placed()
            .filter(article=article, start__in={start for start, _ in spans})
            .select_related("created_by", "review__curator", "review__topic")
            .order_by("-id")
        ):
            assert claim.start is not None and claim.end is not None  # placed
            existing[(claim.start, claim.end)] = claim  # the oldest wins on a duplicate
        reused_ids = [existing[s].pk for s in spans if s in existing]
        mine = set(
            Annotation.objects.filter(annotator=actor, claim_id__in=reused_ids)
            .order_by()
            .values_list("claim_id", flat=True)
        )
        submitted = Assignment.objects.filter(
            article_id=article.pk, annotator=actor, state=AssignmentState.SUBMITTED
        ).exists()

        claims: list[Claim] = []
        created: list[bool] = []
        new_claims: list[Claim] = []
        for wanted in cleaned:
            key = (wanted.span.start, wanted.span.end)
            found = existing.get(key)
            created.append(found is None)
            if found is None:
                found = existing[key] = Claim(
                    article=article,
                    start=wanted.span.start,
                    end=wanted.span.end,
                    exact=wanted.span.exact,
                    prefix=wanted.span.prefix,
                    suffix=wanted.span.suffix,
                    summary=wanted.summary,
                    labels=wanted.labels,
                    created_by=actor,
                )
                new_claims.append(found)
            claims.append(found)
        Claim.objects.bulk_create(new_claims, batch_size=500)
        for claim in new_claims:
            claim._state.fields_cache["review"] = None  # a new claim has no review: no query

        annotations: list[Annotation | None] = []
        status = AnnotationStatus.SUBMITTED if submitted else AnnotationStatus.DRAFT
        tagged: set[int] = set(mine)
        for index, (claim, wanted) in enumerate(zip(claims, cleaned, strict=True)):
            if wanted.annotation is None:
                annotations.append(None)
                continue
            if claim.pk in tagged:
                errors[f"{index}.annotation"] = [
                    "You have annotated this claim already (the same span as "
                    + ("an earlier item" if claim.pk not in mine else f"claim {claim.pk}")
                    + "); edit your annotation instead."
                ]
                continue
            tagged.add(claim.pk)
            fields, _evidence = wanted.annotation
            annotations.append(Annotation(claim=claim, annotator=actor, status=status, **fields))
        if errors:
            raise ValidationError(errors)
        new_annotations = [a for a in annotations if a is not None]
        try:
            with transaction.atomic():
                Annotation.objects.bulk_create(new_annotations, batch_size=500)
        except IntegrityError as error:  # the caller tagged one of these claims meanwhile
            raise Conflict(
                "You annotated one of these claims meanwhile (another request); send the list "
                "again without it."
            ) from error
        evidence: list[Evidence] = []
        events: list[AuditEvent] = []
        for claim in new_claims:
            events.append(
                audit_event(
                    actor=actor,
                    verb="claim.create",
                    obj=claim,
                    corpus=corpus,
                    after=_snapshot(claim, CLAIM_FIELDS),
                )
            )
        for annotation, wanted in zip(annotations, cleaned, strict=True):
            if annotation is None or wanted.annotation is None:
                continue
            _fields, evidence_items = wanted.annotation
            evidence += [
                Evidence(annotation=annotation, position=i, **fields)
                for i, fields in enumerate(evidence_items)
            ]
            events.append(
                audit_event(
                    actor=actor,
                    verb="annotation.create",
                    obj=annotation,
                    corpus=corpus,
                    after={**_snapshot(annotation, ANNOTATION_FIELDS), "evidence": evidence_items},
                )
            )
        Evidence.objects.bulk_create(evidence, batch_size=500)
        AuditEvent.objects.bulk_create(events, batch_size=500)
    return BulkClaims(
        claims=claims,
        annotations=annotations,
        created=created,
        submitted=submitted,
        evidence=evidence,
    )
