"""Merging two claims of one article into one (curators and owners): the claim merged away
gives its annotations (with their evidence), relations, comments and review to the claim kept,
and goes to the trash. When one annotator tagged both, their two annotations conflict: the
curator says which one to keep (`keep`), nothing is chosen for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..access import Access
from ..models import Annotation, Claim, Comment, Relation, Review
from ..permissions import Action
from .annotations import ANNOTATION_FIELDS, _evidence_snapshot
from .base import Conflict, _lock, _snapshot, audit
from .claims import CLAIM_FIELDS as CLAIM_FIELDS_MERGE

KEEP_CHOICES = ("claim", "into")  # the annotation on the claim merged away, or on the one kept


@dataclass(frozen=True)
class MergeConflict:
    """One annotator's two annotations: on the claim merged away (`claim`) and on `into`."""

    username: str
    claim: Annotation
    into: Annotation


class MergeNeedsChoice(Conflict):
    """Some annotator tagged both claims: the curator chooses which annotation stays (409)."""

    def __init__(self, conflicts: list[MergeConflict]) -> None:
        self.conflicts = conflicts
        names = ", ".join(c.username for c in conflicts)
        super().__init__(
            f"{names} tagged both claims. Choose, for each of them, which annotation to keep "
            '(`keep`: {"username": "claim" or "into"}); the other is deleted with the merge.'
        )


def merge_conflicts(*, claim: Claim, into: Claim) -> list[MergeConflict]:
    """The annotators who tagged both claims, with their two annotations (two queries)."""
    mine = {
        a.annotator_id: a
        for a in Annotation.objects.filter(claim=claim).select_related("annotator", "topic")
    }
    theirs = {
        a.annotator_id: a
        for a in Annotation.objects.filter(claim=into, annotator_id__in=list(mine)).select_related(
            "annotator", "topic"
        )
    }
    return sorted(
        (
            MergeConflict(username=a.annotator.username, claim=a, into=theirs[user_id])
            for user_id, a in mine.items()
            if user_id in theirs
        ),
        key=lambda c: c.username,
    )


def _check(claim: Claim, into: Claim) -> None:
    if claim.pk == into.pk:
        raise ValidationError({"into": ["A claim cannot be merged into itself."]})
    if claim.article_id != into.article_id:
        raise ValidationError({"into": ["Both claims must be in the same article."]})
    if claim.deleted_at is not None or into.deleted_at is not None:
        raise ValidationError({"into": ["Both claims must be live (not in the trash)."]})


def claim_merge(
    *, access: Access, claim: Claim, into: Claim, keep: Mapping[str, str] | None = None
) -> Claim:
    """Merges `claim` into `into` (both fetched with permission) and returns `into`."""
    access.ensure(Action.REVIEW)
    keep = dict(keep or {})
    bad = {name: choice for name, choice in keep.items() if choice not in KEEP_CHOICES}
    if bad:
        raise ValidationError(
            {
                "keep": [
                    f"keep for {name} must be “claim” or “into”; got {bad[name]!r}." for name in bad
                ]
            }
        )
    _check(claim, into)
    actor = access.user
    now = timezone.now()
    with transaction.atomic():
        first, second = sorted((claim.pk, into.pk))
        locked = {first: _lock(Claim, first), second: _lock(Claim, second)}
        claim, into = locked[claim.pk], locked[into.pk]
        _check(claim, into)
        conflicts = merge_conflicts(claim=claim, into=into)
        if any(keep.get(c.username) not in KEEP_CHOICES for c in conflicts):
            raise MergeNeedsChoice(conflicts)
        dropped = []
        for conflict in conflicts:
            gone = conflict.into if keep[conflict.username] == "claim" else conflict.claim
            dropped.append(
                {
                    "annotator": conflict.username,
                    **_snapshot(gone, ANNOTATION_FIELDS),
                    "evidence": _evidence_snapshot(gone),
                }
            )
            gone.delete()
        moved = Annotation.objects.filter(claim=claim).update(claim=into, updated_at=now)
        comments = Comment.objects.filter(claim=claim).update(claim=into)
        relations_moved, relations_dropped = _move_relations(claim, into)
        review_note = _move_review(claim, into)
        Claim.objects.filter(pk=claim.pk).update(deleted_at=now, deleted_by=actor)
        into.version += 1
        into.save(update_fields=["version", "updated_at"])
        corpus = access.corpus
        summary = {
            "merged": claim.pk,
            "into": into.pk,
            "annotations_moved": moved,
            "annotations_dropped": dropped,
            "comments_moved": comments,
            "relations_moved": relations_moved,
            "relations_dropped": relations_dropped,
            "review": review_note,
        }
        audit(
            actor=actor,
            verb="claim.merge",
            obj=into,
            corpus=corpus,
            before={"merged": _snapshot(claim, CLAIM_FIELDS_MERGE)},
            after=summary,
        )
        audit(
            actor=actor,
            verb="claim.merged_away",
            obj=claim,
            corpus=corpus,
            before=_snapshot(claim, CLAIM_FIELDS_MERGE),
            after={"into": into.pk},
        )
    return into


def _move_relations(claim: Claim, into: Claim) -> tuple[int, int]:
    """Relations of `claim` now point at `into`; one that would link `into` to itself, or repeat
    a link its creator made already, is dropped. Returns (moved, dropped)."""
    moved = dropped = 0
    for relation in Relation.objects.filter(Q(source_claim=claim) | Q(target_claim=claim)):
        source = into.pk if relation.source_claim_id == claim.pk else relation.source_claim_id
        target = into.pk if relation.target_claim_id == claim.pk else relation.target_claim_id
        twin = Relation.objects.filter(
            source_claim_id=source,
            target_claim_id=target,
            kind=relation.kind,
            created_by_id=relation.created_by_id,
        ).exclude(pk=relation.pk)
        if source == target or twin.exists():
            relation.delete()
            dropped += 1
        else:
            Relation.objects.filter(pk=relation.pk).update(
                source_claim_id=source, target_claim_id=target
            )
            moved += 1
    return moved, dropped


def _move_review(claim: Claim, into: Claim) -> str:
    """The curator's decision on `claim` goes to `into` unless `into` has one (which stays)."""
    review = Review.objects.filter(claim=claim).first()
    if review is None:
        return "none"
    if Review.objects.filter(claim=into).exists():
        review.delete()
        return f"kept the review of claim {into.pk}; dropped the {review.decision} one"
    Review.objects.filter(pk=review.pk).update(claim=into)
    return f"moved ({review.decision})"
