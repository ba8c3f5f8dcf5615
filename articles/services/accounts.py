"""Users and their API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from ..models import ApiToken
from .base import User, audit, clean_line

# --- Users ---------------------------------------------------------------------------------


def _find_user(username_or_email: object, field: str = "username") -> User:
    """The active user with this username, or with this email when exactly one user has it."""
    if not isinstance(username_or_email, str) or not username_or_email.strip():
        raise ValidationError({field: [f"{field} is required."]})
    key = username_or_email.strip()
    user = User.objects.filter(username=key).first()
    if user is None and "@" in key:
        matches = list(User.objects.filter(email__iexact=key)[:2])
        user = matches[0] if len(matches) == 1 else None
    if user is None or not user.is_active:
        raise ValidationError({field: [f"No active user {key!r}."]})
    return user


def user_deactivate(*, actor: User, user: User) -> None:
    """Users are never deleted with their work: they are deactivated and keep their attribution."""
    if not (actor.is_superuser or actor.pk == user.pk):
        raise PermissionDenied("Only an administrator may deactivate another user.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        audit(
            actor=actor,
            verb="user.deactivate",
            obj=user,
            corpus=None,
            after={"username": user.username},
        )


# --- API tokens ----------------------------------------------------------------------------


def api_token_create(
    *, actor: User | AnonymousUser, name: str = "", expires_in: timedelta | None = None
) -> tuple[ApiToken, str]:
    """A new API token for the actor. Returns the token row and the key, which exists only here:
    the database keeps its hash, so the key is shown once and never again."""
    if not isinstance(actor, User) or not actor.is_active:
        raise PermissionDenied("Only an active, signed-in user can create a token.")
    name = clean_line(name, "name", max_chars=100)
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValidationError({"expiry": ["The expiry must lie in the future."]})
    with transaction.atomic():
        token, key = ApiToken.objects.create(user=actor, expiry=expires_in, name=name)
        audit(
            actor=actor,
            verb="token.create",
            obj=token,
            corpus=None,
            after={"name": name, "expiry": token.expiry.isoformat() if token.expiry else None},
        )
    return token, key


def api_token_revoke(*, actor: User, token: ApiToken) -> None:
    """Deletes the token: the next request that presents it is refused."""
    if token.user_id != actor.pk:
        raise PermissionDenied("Only the token's owner may revoke it.")
    with transaction.atomic():
        audit(
            actor=actor,
            verb="token.revoke",
            obj=token,
            corpus=None,
            before={"name": token.name, "created": token.created.isoformat()},
        )
        token.delete()
