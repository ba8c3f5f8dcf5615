"""Invitations: an owner invites a person by e-mail to a corpus with a role. The link carries a
random key (its SHA-256 is stored), works once, and expires after settings.INVITATION_DAYS days.
The invited person sets their own password (a new account) or, with an account already, joins
after signing in."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ..access import Access
from ..models import Invitation, Membership, Role
from ..permissions import Action, rank
from .base import User, audit, clean_choice


def invitation_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def invitation_create(*, access: Access, email: object, role: object) -> tuple[Invitation, str]:
    """A new invitation and its key (which exists only here: the link is shown once)."""
    access.ensure(Action.MANAGE)
    if not isinstance(email, str) or not email.strip():
        raise ValidationError({"email": ["email is required."]})
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": [f"email must be an e-mail address; got {email!r}."]}
        ) from None
    chosen = clean_choice(role, "role", Role)
    if Membership.objects.filter(corpus=access.corpus, user__email__iexact=email).exists():
        raise ValidationError({"email": [f"Someone with the e-mail {email} is a member already."]})
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            corpus=access.corpus,
            email=email,
            role=chosen,
            key_hash=invitation_key_hash(key),
            invited_by=access.user,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
        )
        audit(
            actor=access.user,
            verb="invitation.create",
            obj=invitation,
            corpus=access.corpus,
            after={
                "email": email,
                "role": chosen,
                "expires_at": invitation.expires_at.isoformat(),
            },
        )
    return invitation, key


def invitation_usable(key: str) -> Invitation | None:
    """The open invitation with this key: not used, not expired; None otherwise."""
    if not key or len(key) > 100:
        return None
    return (
        Invitation.objects.select_related("corpus", "invited_by")
        .filter(
            key_hash=invitation_key_hash(key),
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """The user joins the corpus with the invitation's role (a member already keeps the higher
    of the two roles); the invitation is used up."""
    if not user.is_active:
        raise ValidationError({"user": ["This account is deactivated."]})
    with transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if current.accepted_at is not None or current.expires_at <= timezone.now():
            raise ValidationError({"invitation": ["This invitation was used already or expired."]})
        membership, created = Membership.objects.get_or_create(
            corpus_id=current.corpus_id, user=user, defaults={"role": current.role}
        )
        before = None if created else {"role": membership.role}
        if not created and rank(current.role) > rank(membership.role):
            membership.role = current.role
            membership.save(update_fields=["role"])
        current.accepted_at = timezone.now()
        current.accepted_by = user
        current.save(update_fields=["accepted_at", "accepted_by"])
        audit(
            actor=user,
            verb="invitation.accept",
            obj=current,
            corpus=invitation.corpus,
            before=before,
            after={"username": user.username, "role": membership.role, "email": current.email},
        )
    return membership


def invitation_sign_up(*, invitation: Invitation, username: str, password: str) -> User:
    """A new account for the invited person (the view validated the username and the password
    with Django's validators), joined to the corpus."""
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=invitation.email, password=password
        )
        audit(
            actor=user,
            verb="user.create",
            obj=user,
            corpus=invitation.corpus,
            after={"username": username, "email": invitation.email, "by": "invitation"},
        )
        invitation_accept(invitation=invitation, user=user)
    return user


def invitation_revoke(*, access: Access, invitation: Invitation) -> None:
    access.ensure(Action.MANAGE)
    with transaction.atomic():
        audit(
            actor=access.user,
            verb="invitation.revoke",
            obj=invitation,
            corpus=access.corpus,
            before={"email": invitation.email, "role": invitation.role},
        )
        invitation.delete()
