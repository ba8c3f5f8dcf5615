# ruff: noqa: S608  (SQL of this module's table and column names; values as parameters)
"""Many claims of one article at once, each optionally with the caller's annotation: all or
nothing, in a fixed number of queries however many items there are (one INSERT per table; on
SQLite one per 58 claims, its parameter limit).

The rows are written and answered as plain values (services.inserts), not model instances: a
list of 20 was mostly bulk_create's per-value compilation and the serializers (bench/README.md,
"Spans in lists of 20"). Reused claims are model instances, with their creator and review.

The checks are those of one claim (anchoring.resolve_span, the summary and labels cleaners) and
of one annotation (annotations.clean_annotation); errors are keyed `"<index>.<field>"`, and one
bad item writes nothing. A span equal to a live claim's (or to an earlier item's) reuses that
claim for the annotation instead of marking the span twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.utils import timezone

from .. import anchoring
from ..models import (
    Annotation,
    AnnotationStatus,
    Article,
    AssignmentState,
    AuditEvent,
    Claim,
    Evidence,
    Topic,
)
from ..permissions import Action, ensure
from ..validators import EvidenceFields
from . import inserts
from .annotations import ANNOTATION_FIELDS, EvidenceInput, _AnnotationFields, clean_annotation
from .base import Conflict, User, clean_free_text, clean_labels
from .claims import CLAIM_FIELDS

MAX_BULK_CLAIMS = 1000
# The audit's annotation snapshot (ANNOTATION_FIELDS, a related object by its id): its columns.
_ANNOTATION_SNAPSHOT = [
    (name, cast(Field, Annotation._meta.get_field(name)).attname) for name in ANNOTATION_FIELDS
]


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


Row = dict[str, object]


@dataclass
class NewAnnotation:
    """The caller's annotation an item created: its row (attname -> value, `id` included) and
    its evidence rows in order; `topic`, the Topic its row names."""

    row: Row
    topic: Topic
    evidence: list[Row]
    cleaned_evidence: list[EvidenceFields]  # as the audit records it


@dataclass
class BulkClaims:
    """What claims_create_many wrote, per item: its claim, a live claim reused (a Claim, with its
    creator and review) or the row of a new one (attname -> value, `id` included); whether the
    item created it; the caller's new annotation (None when the item had none). `submitted`:
    whether the caller had submitted the article (what blind mode and the review's visibility
    turn on); `at`, the time stamped on every new row."""

    claims: list[Claim | Row]
    annotations: list[NewAnnotation | None]
    created: list[bool]
    submitted: bool
    at: datetime


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
        submitted = _lock_article(article, actor)
        spans = {(c.span.start, c.span.end) for c in cleaned}
        existing, mine = _live_claims_at(article, actor, spans)
        now = timezone.now()
        claims: list[Claim | Row] = []
        created: list[bool] = []
        new_claims: list[Row] = []
        for wanted in cleaned:
            key = (wanted.span.start, wanted.span.end)
            found = existing.get(key)
            created.append(found is None)
            if found is None:
                found = existing[key] = inserts.complete(
                    Claim,
                    {
                        "article_id": article.pk,
                        "start": wanted.span.start,
                        "end": wanted.span.end,
                        "exact": wanted.span.exact,
                        "prefix": wanted.span.prefix,
                        "suffix": wanted.span.suffix,
                        "summary": wanted.summary,
                        "labels": wanted.labels,
                        "created_by_id": actor.pk,
                    },
                    now,
                )
                new_claims.append(found)
            claims.append(found)
        # Each new row's id, matched by its span (unique among the new claims).
        ids = {(s, e): pk for pk, s, e in inserts.insert(Claim, new_claims, ("id", "start", "end"))}
        for row in new_claims:
            row["id"] = ids[(row["start"], row["end"])]

        annotations: list[NewAnnotation | None] = []
        status = AnnotationStatus.SUBMITTED if submitted else AnnotationStatus.DRAFT
        tagged: set[int] = set(mine)
        for index, (claim, wanted) in enumerate(zip(claims, cleaned, strict=True)):
            claim_id = _pk(claim)
            if wanted.annotation is None:
                annotations.append(None)
                continue
            if claim_id in tagged:
                errors[f"{index}.annotation"] = [
                    "You have annotated this claim already (the same span as "
                    + ("an earlier item" if claim_id not in mine else f"claim {claim_id}")
                    + "); edit your annotation instead."
                ]
                continue
            tagged.add(claim_id)
            fields, evidence_items = wanted.annotation
            topic = fields["topic"]
            row = inserts.complete(
                Annotation,
                {
                    "claim_id": claim_id,
                    "annotator_id": actor.pk,
                    "topic_id": topic.pk,
                    "stance": fields["stance"],
                    "labels": fields["labels"],
                    "confidence": fields["confidence"],
                    "note": fields["note"],
                    "status": status.value,
                },
                now,
            )
            evidence = [
                inserts.complete(Evidence, {**item, "position": i}, now)
                for i, item in enumerate(evidence_items)
            ]
            annotations.append(NewAnnotation(row, topic, evidence, evidence_items))
        if errors:
            raise ValidationError(errors)
        written = [a for a in annotations if a is not None]
        try:
            answered = inserts.insert(Annotation, [a.row for a in written], ("id", "claim_id"))
        except IntegrityError as error:  # the caller tagged one of these claims meanwhile
            raise Conflict(
                "You annotated one of these claims meanwhile (another request); send the list "
                "again without it."
            ) from error
        annotation_ids = {claim_id: pk for pk, claim_id in answered}
        evidence_rows: list[Row] = []
        for annotation in written:
            annotation.row["id"] = pk = annotation_ids[annotation.row["claim_id"]]
            for row in annotation.evidence:
                row["annotation_id"] = pk
                evidence_rows.append(row)
        evidence_ids = {
            (annotation_id, position): pk
            for pk, annotation_id, position in inserts.insert(
                Evidence, evidence_rows, ("id", "annotation_id", "position")
            )
        }
        for row in evidence_rows:
            row["id"] = evidence_ids[(row["annotation_id"], row["position"])]
        inserts.insert(AuditEvent, _audit_rows(actor, article, new_claims, written, now))
    return BulkClaims(
        claims=claims, annotations=annotations, created=created, submitted=submitted, at=now
    )


def _pk(claim: Claim | Row) -> int:
    return claim.pk if isinstance(claim, Claim) else cast(int, claim["id"])


def _lock_article(article: Article, actor: User) -> bool:
    """Locks the article's row (bulk writes to one article take turns, so two of them never mark
    the same span twice; SQLite's write transaction is the lock there) and answers whether the
    caller has submitted it, in one query."""
    submitted = (
        "SELECT EXISTS (SELECT 1 FROM articles_assignment WHERE article_id = %s "
        "AND annotator_id = %s AND state = %s)"
    )
    params: list[int | str] = [article.pk, actor.pk, AssignmentState.SUBMITTED.value]
    if connection.features.has_select_for_update:
        submitted += " FROM articles_article WHERE id = %s FOR UPDATE"
        params.append(article.pk)
    with connection.cursor() as cursor:
        cursor.execute(submitted, params)
        found = cursor.fetchone()
    return bool(found and found[0])  # no row: deleted meanwhile (the insert then fails)


def _live_claims_at(
    article: Article, actor: User, spans: set[tuple[int, int]]
) -> tuple[dict[tuple[int, int], Claim | Row], set[int]]:
    """The live claims of `article` at these spans (the oldest where two share one), with their
    creator and review, and the ids of those the caller has annotated already: one query, and
    one more only when some span is a live claim's."""
    starts = sorted({start for start, _ in spans})
    marks = ", ".join(["%s"] * len(starts))
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT c.id, c.start, c."end", EXISTS (SELECT 1 FROM articles_annotation a '
            "WHERE a.claim_id = c.id AND a.annotator_id = %s) FROM articles_claim c "
            f"WHERE c.article_id = %s AND c.deleted_at IS NULL AND c.start IN ({marks}) "
            "ORDER BY c.id DESC",
            [actor.pk, article.pk, *starts],
        )
        found = cursor.fetchall()
    ids: dict[tuple[int, int], int] = {}
    mine: set[int] = set()
    for pk, start, end, annotated in found:
        if (start, end) in spans:
            ids[(start, end)] = pk  # the oldest wins on a duplicate
            if annotated:
                mine.add(pk)
    if not ids:
        return {}, mine
    claims = Claim.objects.select_related("created_by", "review__curator", "review__topic").in_bulk(
        list(ids.values())
    )
    return {span: claims[pk] for span, pk in ids.items()}, mine


def _audit_rows(
    actor: User,
    article: Article,
    new_claims: list[Row],
    annotations: list[NewAnnotation],
    now: datetime,
) -> list[Row]:
    """The audit events of the new claims, then of the new annotations, as `audit_event`
    records them (the same verbs, objects and snapshots)."""
    corpus = article.corpus
    base = {"actor_id": actor.pk, "corpus_id": corpus.pk, "corpus_slug": corpus.slug}
    rows = [
        inserts.complete(
            AuditEvent,
            {
                **base,
                "verb": "claim.create",
                "object_type": "claim",
                "object_id": str(row["id"]),
                "after": {name: row[name] for name in CLAIM_FIELDS},
            },
            now,
        )
        for row in new_claims
    ]
    for annotation in annotations:
        row = annotation.row
        after = {
            **{name: row[column] for name, column in _ANNOTATION_SNAPSHOT},
            "evidence": annotation.cleaned_evidence,
        }
        rows.append(
            inserts.complete(
                AuditEvent,
                {
                    **base,
                    "verb": "annotation.create",
                    "object_type": "annotation",
                    "object_id": str(row["id"]),
                    "after": after,
                },
                now,
            )
        )
    return rows
