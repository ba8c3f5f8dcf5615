"""What every service shares: the errors they raise, the audit record, optimistic versions, and
the cleaning of free text, lines, URLs, labels, choices and dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Model

from .. import validators
from ..models import AuditEvent, Corpus
from ..validators import (  # noqa: F401  (the limits are re-exported as services.MAX_...)
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    MAX_NOTE_CHARS,
    SAFE_URL,
    keyed,
)

User = get_user_model()


class Conflict(Exception):
    """A duplicate: the object exists already (HTTP 409)."""


class StaleVersion(Exception):
    """The caller edited an old version (HTTP 412); `current` is the object as it stands now."""

    def __init__(self, current: Model, given: int):
        self.current = current
        self.given = given
        super().__init__(
            f"This {type(current).__name__.lower()} was changed by someone else meanwhile "
            f"(your version {given}, current version {current.version}). "
            "Reload it, then apply your change again."
        )


class PayloadTooLarge(Exception):
    """Text over a documented limit (HTTP 413)."""


# --- helpers -------------------------------------------------------------------------------


def _snapshot(obj: Model | None, fields: Iterable[str]) -> dict[str, Any] | None:
    if obj is None:
        return None
    data = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, Model):
            value = value.pk
        data[name] = value
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def audit(
    *,
    actor,
    verb: str,
    obj: Model,
    corpus: Corpus | None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=type(obj).__name__.lower(),
        object_id=str(obj.pk),
        corpus=corpus,
        corpus_slug=corpus.slug if corpus else "",
        before=before,
        after=after,
    )


def check_version(obj: Model, version: Any) -> None:
    """Optimistic concurrency: None means the caller did not say (pages always say)."""
    if version is None:
        return
    try:
        given = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": ["version must be a whole number."]}) from None
    if given != obj.version:
        raise StaleVersion(obj, given)


def _lock(model: type[Model], pk: Any) -> Model:
    return model.objects.select_for_update().get(pk=pk)


# The cleaning below is articles.validators' one-field validators, reporting errors keyed by
# field as every service does.


def clean_free_text(value: Any, field: str, *, max_chars: int = MAX_NOTE_CHARS) -> str:
    return keyed(field, validators.validate_text, value, field, max_chars=max_chars)


def clean_line(value: Any, field: str, *, max_chars: int, required: bool = False) -> str:
    return keyed(
        field, validators.validate_line, value, field, max_chars=max_chars, required=required
    )


def clean_url(value: Any, field: str = "source_url") -> str:
    return keyed(field, validators.validate_url, value, field)


def clean_labels(value: Any, field: str, *, allowed: Sequence[str] = ()) -> list[str]:
    return keyed(field, validators.validate_labels, value, field, allowed=allowed)


def clean_choice(value: Any, field: str, choices: type, *, required: bool = True) -> str:
    return keyed(field, validators.validate_choice, value, field, choices, required=required)


# The former private name, still imported by the claims module.
_choice = clean_choice


def _parse_date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError({field: [f"{field} must be a date as YYYY-MM-DD; got {value!r}."]})


def _create_unique(factory, message: str):
    """Run a create that a unique constraint may refuse, turning the refusal into Conflict."""
    try:
        with transaction.atomic():
            return factory()
    except IntegrityError as error:
        raise Conflict(message) from error
