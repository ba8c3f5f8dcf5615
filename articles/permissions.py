"""May this user do this to this object? The one answer, used by the HTML views and the API alike.

Objects are fetched through selectors.*_with_access, which already answer 404 to non-members and
give the caller's `Access` (access.py, where the blind rule lives). What remains here is "member
without the right" (403).

Roles, lowest to highest: viewer < annotator < curator < owner; each holds the rights below it.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from .models import Role


class Action(StrEnum):
    VIEW = "view"  # read the corpus, its articles, claims and (blind mode allowing) annotations
    ANNOTATE = "annotate"  # create claims, write own annotations, relations and comments
    REVIEW = "review"  # decide claims (gold labels), see every annotation in blind mode
    ASSIGN = "assign"  # give articles to annotators
    MANAGE = "manage"  # corpus settings, topics, members, trash
    IMPORT = "import"
    EXPORT = "export"
    DELETE_ARTICLE = "delete_article"
    AUDIT = "audit"  # read the audit log
    EDIT_TEXT = "edit_text"  # replace an article's text (a new version; spans re-anchored)


ROLE_RANK: dict[str, int] = {Role.VIEWER: 1, Role.ANNOTATOR: 2, Role.CURATOR: 3, Role.OWNER: 4}

MINIMUM_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.ANNOTATE: Role.ANNOTATOR,
    Action.REVIEW: Role.CURATOR,
    Action.ASSIGN: Role.CURATOR,
    Action.AUDIT: Role.CURATOR,
    Action.EDIT_TEXT: Role.CURATOR,
    Action.MANAGE: Role.OWNER,
    Action.IMPORT: Role.OWNER,
    Action.EXPORT: Role.OWNER,
    Action.DELETE_ARTICLE: Role.OWNER,
}


def rank(role: str | None) -> int:
    return ROLE_RANK.get(role, 0) if role else 0


def can(role: str | None, action: Action | str) -> bool:
    """Whether a member with `role` (None: not a member) may perform `action` in the corpus."""
    return rank(role) >= ROLE_RANK[MINIMUM_ROLE[Action(action)]]


def ensure(role: str | None, action: Action | str) -> None:
    """Raise PermissionDenied (403) unless the member's role allows the action.

    Non-members never reach this: the selectors that fetched the object answered 404 already.
    """
    if not can(role, action):
        needed = MINIMUM_ROLE[Action(action)]
        raise PermissionDenied(
            f"Your role in this corpus ({role or 'none'}) does not allow this; it needs {needed}."
        )


def can_edit_claim(*, user, role: str | None, claim) -> bool:
    """The claim's creator (still an annotator or more) or any curator/owner."""
    if can(role, Action.REVIEW):
        return True
    return can(role, Action.ANNOTATE) and claim.created_by_id == user.pk


def can_edit_annotation(*, user, role: str | None, annotation) -> bool:
    """Only its annotator edits an annotation (and only while still an annotator or more)."""
    return can(role, Action.ANNOTATE) and annotation.annotator_id == user.pk


BLIND_CLAIM_DELETE = (
    "In a blind corpus you cannot delete a claim before you submit the article: whether others "
    "have tagged it is hidden from you. Remove your own tags instead, or ask a curator."
)


def claim_delete_refusal(
    *, user, role: str | None, claim, sees_all: bool, others_tagged: bool
) -> str | None:
    """Why the user may not move the claim to the trash, or None when they may.

    Curators and owners may always. The claim's creator may while nobody else has tagged it;
    but before they may see everyone's tags on the article (blind mode, not yet submitted), never:
    the answer must not depend on work hidden from them (DESIGN.md, noninterference).
    """
    if can(role, Action.REVIEW):
        return None
    if not can_edit_claim(user=user, role=role, claim=claim):
        return "Only the claim's creator or a curator may delete it."
    if not sees_all:
        return BLIND_CLAIM_DELETE
    if others_tagged:
        return (
            "Only a curator, or the claim's creator while nobody else has tagged it, may delete it."
        )
    return None


def can_delete_annotation(*, user, role: str | None, annotation) -> bool:
    return can_edit_annotation(user=user, role=role, annotation=annotation) or can(
        role, Action.MANAGE
    )


def can_delete_relation(*, user, role: str | None, relation) -> bool:
    if can(role, Action.REVIEW):
        return True
    return can(role, Action.ANNOTATE) and relation.created_by_id == user.pk


def ensure_that(allowed: bool, message: str = "You may not change this object.") -> None:
    if not allowed:
        raise PermissionDenied(message)
