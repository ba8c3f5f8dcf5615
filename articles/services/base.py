"""What every service shares: the errors they raise, the audit record, optimistic versions, and
the cleaning of free text, lines, URLs, labels, choices and dates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Choices, Model

from .. import validators
from ..models import AuditEvent, Corpus
from ..validators import (  # noqa: F401  (the limits are re-exported as services.MAX_...)
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    MAX_NOTE_CHARS,
    SAFE_URL,
    keyed,
)

# `User` (imported above, and by the other service modules from here): the project keeps Django's
# own user model (AUTH_USER_MODEL is not swapped). `actor: User` in a service is a signed-in user.

# A version as callers have it: a number from the API, text from a form, None when not given.
Version = int | str | None

_M = TypeVar("_M", bound=Model)
_T = TypeVar("_T")


class Versioned(Protocol):
    """A model with an optimistic-concurrency counter."""

    version: int


class Conflict(Exception):
    """A duplicate: the object exists already (HTTP 409)."""


class StaleVersion(Exception):
    """The caller edited an old version (HTTP 412); `current` is the object as it stands now."""

    def __init__(self, current: Versioned, given: int):
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


def _snapshot(obj: Model, fields: Iterable[str]) -> dict[str, object]:
    """The named fields as the audit log stores them: JSON values, related objects by id."""
    data: dict[str, object] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, Model):
            value = value.pk
        data[name] = value
    snapshot: dict[str, object] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return snapshot


def audit(
    *,
    actor: User | AnonymousUser | None,
    verb: str,
    obj: Model,
    corpus: Corpus | None,
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
) -> AuditEvent:
    """Records a write; an anonymous or missing actor (a command-line action) is stored as none."""
    event = audit_event(actor=actor, verb=verb, obj=obj, corpus=corpus, before=before, after=after)
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    actor: User | AnonymousUser | None,
    verb: str,
    obj: Model,
    corpus: Corpus | None,
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
) -> AuditEvent:
    """The record `audit` saves, unsaved: for writes of many rows, saved with bulk_create."""
    return AuditEvent(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=type(obj).__name__.lower(),
        object_id=str(obj.pk),
        corpus=corpus,
        corpus_slug=corpus.slug if corpus else "",
        before=before,
        after=after,
    )


def check_version(obj: Versioned, version: Version) -> None:
    """Optimistic concurrency: None means the caller did not say (pages always say)."""
    if version is None:
        return
    try:
        given = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": ["version must be a whole number."]}) from None
    if given != obj.version:
        raise StaleVersion(obj, given)


def _lock(model: type[_M], pk: object) -> _M:
    """The row, locked until the end of the transaction, so a concurrent write waits for ours."""
    return model._default_manager.select_for_update().get(pk=pk)


# The cleaners below take whatever a form, the API or an import line holds (hence `object`) and
# return the clean value. The checks themselves are articles.validators' one-field validators
# (shared with the importer, forms and serializers); here their errors are keyed by field, as
# every service reports them.


def clean_free_text(value: object, field: str, *, max_chars: int = MAX_NOTE_CHARS) -> str:
    return keyed(field, validators.validate_text, value, field, max_chars=max_chars)


def clean_line(value: object, field: str, *, max_chars: int, required: bool = False) -> str:
    return keyed(
        field, validators.validate_line, value, field, max_chars=max_chars, required=required
    )


def clean_url(value: object, field: str = "source_url") -> str:
    return keyed(field, validators.validate_url, value, field)


def clean_int(value: object, field: str) -> int:
    return keyed(field, validators.validate_int, value, field)


def clean_bool(value: object, field: str) -> bool:
    return keyed(field, validators.validate_bool, value, field)


def clean_labels(value: object, field: str, *, allowed: Sequence[str] = ()) -> list[str]:
    return keyed(field, validators.validate_labels, value, field, allowed=allowed)


def clean_choice(
    value: object, field: str, choices: type[Choices], *, required: bool = True
) -> str:
    return keyed(field, validators.validate_choice, value, field, choices, required=required)


def _parse_date(value: object, field: str) -> date | None:
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


def _create_unique(factory: Callable[[], _T], message: str) -> _T:
    """Run a create that a unique constraint may refuse, turning the refusal into Conflict."""
    try:
        with transaction.atomic():
            return factory()
    except IntegrityError as error:
        raise Conflict(message) from error
