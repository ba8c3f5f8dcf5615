"""A corpus's annotation guidelines: owners write them; every change is audited with the old
and the new text."""

from __future__ import annotations

from django.db import transaction

from ..access import Access
from ..guidelines import MAX_GUIDELINES_CHARS
from ..models import Guidelines
from ..permissions import Action
from .base import Version, audit, check_version, clean_free_text


def guidelines_update(*, access: Access, text: object, version: Version = None) -> Guidelines:
    """Replaces the guidelines' text (Markdown); `version` is the one the owner edited."""
    access.ensure(Action.MANAGE)
    clean = clean_free_text(text, "text", max_chars=MAX_GUIDELINES_CHARS)
    with transaction.atomic():
        current, _created = Guidelines.objects.select_for_update().get_or_create(
            corpus=access.corpus
        )
        check_version(current, version)
        before = current.text
        if clean == before:
            return current
        current.text = clean
        current.version += 1
        current.updated_by = access.user
        current.save()
        audit(
            actor=access.user,
            verb="guidelines.update",
            obj=current,
            corpus=access.corpus,
            before={"guidelines": before},
            after={"guidelines": clean},
        )
    return current
