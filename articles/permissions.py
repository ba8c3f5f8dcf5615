"""May this user do this to this object? The one answer, used by the HTML views and the API alike.

Objects are fetched through selectors.*_get_for_user, which already answer 404 to non-members and
attach the caller's role as `obj.my_role`. What remains here is "member without the right" (403).

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


ROLE_RANK = {Role.VIEWER: 1, Role.ANNOTATOR: 2, Role.CURATOR: 3, Role.OWNER: 4}

MINIMUM_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.ANNOTATE: Role.ANNOTATOR,
    Action.REVIEW: Role.CURATOR,
    Action.ASSIGN: Role.CURATOR,
    Action.AUDIT: Role.CURATOR,
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


def sees_all_annotations(*, role: str | None, blind: bool, has_submitted: bool) -> bool:
    """Blind mode: annotators see only their own annotations on an article until they submit it.

    Curators and owners always see everything; viewers do not annotate, so blinding them protects
    nobody's independence and they see everything too.
    """
    if not blind or has_submitted:
        return True
    return role in (Role.OWNER, Role.CURATOR, Role.VIEWER)


def can_edit_claim(*, user, role: str | None, claim) -> bool:
    """The claim's creator (still an annotator or more) or any curator/owner."""
    if can(role, Action.REVIEW):
        return True
    return can(role, Action.ANNOTATE) and claim.created_by_id == user.pk


def can_edit_annotation(*, user, role: str | None, annotation) -> bool:
    """Only its annotator edits an annotation (and only while still an annotator or more)."""
    return can(role, Action.ANNOTATE) and annotation.annotator_id == user.pk


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


def can_see_agreement(*, role: str | None, blind: bool) -> bool:
    """Agreement figures: curators, owners and viewers always (they see every annotation anyway);
    annotators only when the corpus is not blind, since per-annotator figures hint at the others'
    stances."""
    if role in (Role.OWNER, Role.CURATOR, Role.VIEWER):
        return True
    return role == Role.ANNOTATOR and not blind
