"""Claims (marked spans of an article's text) and the relations between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import anchoring, similarity
from ..access import Access
from ..models import Annotation, Article, Claim, Relation, RelationKind
from ..permissions import (
    Action,
    can_delete_relation,
    can_edit_claim,
    claim_delete_refusal,
    ensure,
    ensure_that,
)
from .base import (
    Conflict,
    User,
    Version,
    _create_unique,
    _lock,
    _snapshot,
    audit,
    check_version,
    clean_choice,
    clean_free_text,
    clean_labels,
)

# --- Claims --------------------------------------------------------------------------------

CLAIM_FIELDS = ("start", "end", "exact", "summary", "labels")


class ClaimChanges(TypedDict, total=False):
    """What claim_update may change (the span never changes); any subset."""

    summary: str
    labels: Sequence[str]


class DuplicateClaim(Conflict):
    """The span is a live claim's already (HTTP 409 naming it): tag that claim instead."""

    def __init__(self, existing: Claim) -> None:
        self.existing = existing
        super().__init__(
            f"This passage is a claim already (claim {existing.pk}): tag that claim instead "
            "of marking it again."
        )


def claim_create(
    *,
    actor: User,
    article: Article,
    role: str | None,
    start: int | str | None = None,
    end: int | str | None = None,
    exact: str | None = None,
    prefix: str | None = None,
    suffix: str | None = None,
    summary: str = "",
    labels: Sequence[str] | None = None,
) -> Claim:
    """Marks a span, given by offsets or by its quote (see anchoring.resolve_span); an offset
    that arrives as text which is not a whole number is refused there with its own message."""
    ensure(role, Action.ANNOTATE)
    span = anchoring.resolve_span(
        article.text, start=start, end=end, exact=exact, prefix=prefix, suffix=suffix
    )
    summary = clean_free_text(summary, "summary", max_chars=2000).strip()
    clean = clean_labels(labels, "labels", allowed=article.corpus.claim_labels)
    with transaction.atomic():
        # One span, one claim: the article's row is locked so that two people marking the same
        # passage at once get one claim, and the second is told which.
        _lock(Article, article.pk)
        existing = (
            Claim.objects.alive()
            .filter(article=article, start=span.start, end=span.end)
            .order_by("id")
            .first()
        )
        if existing is not None:
            raise DuplicateClaim(existing)
        claim = Claim.objects.create(
            article=article,
            start=span.start,
            end=span.end,
            exact=span.exact,
            prefix=span.prefix,
            suffix=span.suffix,
            summary=summary,
            labels=clean,
            created_by=actor,
        )
        similarity.refresh_claims([claim])
        audit(
            actor=actor,
            verb="claim.create",
            obj=claim,
            corpus=article.corpus,
            after=_snapshot(claim, CLAIM_FIELDS),
        )
    return claim


def claim_update(
    *,
    actor: User,
    claim: Claim,
    role: str | None,
    version: Version = None,
    **changes: Unpack[ClaimChanges],
) -> Claim:
    ensure_that(
        can_edit_claim(user=actor, role=role, claim=claim),
        "Only the claim's creator or a curator may change it.",
    )
    unknown = set(changes) - {"summary", "labels"}
    if unknown:
        raise ValidationError(
            {
                f: ["This field cannot be changed; delete the claim and mark it again."]
                for f in unknown
            }
        )
    with transaction.atomic():
        current = _lock(Claim, claim.pk)
        check_version(current, version)
        before = _snapshot(current, CLAIM_FIELDS)
        if "summary" in changes:
            current.summary = clean_free_text(changes["summary"], "summary", max_chars=2000).strip()
        if "labels" in changes:
            current.labels = clean_labels(
                changes["labels"], "labels", allowed=claim.article.corpus.claim_labels
            )
        current.version += 1
        current.save()
        if current.summary != before["summary"]:
            similarity.refresh_claims([current])  # the embedded text includes the summary
        audit(
            actor=actor,
            verb="claim.update",
            obj=current,
            corpus=claim.article.corpus,
            before=before,
            after=_snapshot(current, CLAIM_FIELDS),
        )
    return current


def claim_delete(*, access: Access, claim: Claim) -> None:
    """Moves the claim to the trash (permissions.claim_delete_refusal says who may)."""
    actor = access.user
    refusal = claim_delete_refusal(
        user=actor,
        role=access.role,
        claim=claim,
        sees_all=access.sees_all_on(claim.article),
        others_tagged=Annotation.objects.filter(claim=claim).exclude(annotator=actor).exists(),
    )
    ensure_that(refusal is None, refusal or "")
    with transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(deleted_at=timezone.now(), deleted_by=actor)
        audit(
            actor=actor,
            verb="claim.delete",
            obj=claim,
            corpus=claim.article.corpus,
            before=_snapshot(claim, CLAIM_FIELDS),
        )


def claim_restore(*, actor: User, claim: Claim, role: str | None) -> None:
    ensure(role, Action.MANAGE)
    with transaction.atomic():
        if claim.article.deleted_at is not None:
            raise ValidationError({"claim": ["Restore the claim's article first."]})
        Claim.objects.filter(pk=claim.pk).update(deleted_at=None, deleted_by=None)
        audit(actor=actor, verb="claim.restore", obj=claim, corpus=claim.article.corpus)


# --- Relations -----------------------------------------------------------------------------


def relation_create(
    *, actor: User, source: Claim, target: Claim, role: str | None, kind: str
) -> Relation:
    """`source` and `target` must have been fetched with permission (claim_with_access). Each
    member's links are their own: the same link made by two members is two relations."""
    ensure(role, Action.ANNOTATE)
    kind = clean_choice(kind, "kind", RelationKind)
    if source.article_id != target.article_id:
        raise ValidationError({"target": ["Both claims must be in the same article."]})
    if source.pk == target.pk:
        raise ValidationError({"target": ["A claim cannot be related to itself."]})
    with transaction.atomic():
        relation = _create_unique(
            lambda: Relation.objects.create(
                source_claim=source, target_claim=target, kind=kind, created_by=actor
            ),
            f"You linked claim {source.pk} to claim {target.pk} as “{kind}” already.",
        )
        audit(
            actor=actor,
            verb="relation.create",
            obj=relation,
            corpus=source.article.corpus,
            after={"source": source.pk, "target": target.pk, "kind": kind},
        )
    return relation


def relation_delete(*, actor: User, relation: Relation, role: str | None) -> None:
    ensure_that(
        can_delete_relation(user=actor, role=role, relation=relation),
        "Only the relation's creator or a curator may delete it.",
    )
    with transaction.atomic():
        audit(
            actor=actor,
            verb="relation.delete",
            obj=relation,
            corpus=relation.source_claim.article.corpus,
            before={
                "source": relation.source_claim_id,
                "target": relation.target_claim_id,
                "kind": relation.kind,
            },
        )
        relation.delete()
