"""Undoing a curator's decision: the claim's review is put back as it was just before (its
fields, or no review at all) through the same versioned, audited writes as any decision."""

from __future__ import annotations

from typing import TypedDict

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Claim, Review
from ..permissions import Action, ensure
from .base import Version, check_version
from .review import review_delete, review_set


class ReviewState(TypedDict):
    """A review's fields as a decision found them (topic as its id, or None)."""

    decision: str
    topic: int | None
    stance: str
    note: str


def review_state(review: Review | None) -> ReviewState | None:
    if review is None:
        return None
    return {
        "decision": review.decision,
        "topic": review.topic_id,
        "stance": review.stance,
        "note": review.note,
    }


def review_undo(
    *,
    actor: User,
    claim: Claim,
    role: str | None,
    previous: ReviewState | None,
    version: Version,
) -> Review | None:
    """Puts back `previous` (None: the claim had no review) in place of the decision that made
    version `version` of the claim's review. If the review changed since (another curator, or a
    later decision), StaleVersion: nothing is overwritten. Audited as review.update or
    review.delete."""
    ensure(role, Action.REVIEW)
    with transaction.atomic():
        current = Review.objects.select_for_update().filter(claim=claim).first()
        if current is None:
            raise ValidationError({"review": ["This claim has no decision to undo any more."]})
        check_version(current, version)
        if previous is None:
            review_delete(actor=actor, review=current, role=role)
            return None
        return review_set(
            actor=actor,
            claim=claim,
            role=role,
            decision=previous["decision"],
            topic=previous["topic"],
            stance=previous["stance"] or None,
            note=previous["note"],
            version=current.version,
        )
