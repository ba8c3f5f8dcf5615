"""Field validators shared by every way data comes in: services, the importer, forms, serializers.

Each validator takes the raw value (from JSON, a form or a file, so anything at all) and returns
the cleaned value, or raises django.core.exceptions.ValidationError whose message names the field.

Two shapes, by how many fields a check looks at:

- one field (text, line, url, choice, stance, labels, whole number, true/false, confidence,
  evidence, member): a *plain* error, a list of messages. That is what Django's
  `Form.clean_<field>` and DRF's `Serializer.validate_<field>` need to file the error under the
  field (a dict-shaped error raised there makes Django raise TypeError and DRF nest the field
  twice)::

      def clean_stance(self):                      # a Django form
          return validators.validate_stance(self.cleaned_data["stance"])

      def validate_confidence(self, value):        # a DRF serializer
          return validators.validate_confidence(value)

- several fields at once (a span: start, end, exact, prefix, suffix): an error keyed by field,
  for `Form.clean()` or `Serializer.validate()`.

Services report errors keyed by field ({field: [messages]}); `keyed()` turns a one-field
validator's plain error into that shape. The importer prefixes each message with the path of the
value in its line (`claims[2].annotations[0].stance: ...`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Choices

from . import anchoring
from .models import EvidenceKind, EvidenceRole, EvidenceType, Membership, Role, Stance
from .permissions import ROLE_RANK, rank

MAX_LABELS = 50
MAX_LABEL_LENGTH = 100
MAX_NOTE_CHARS = 20_000
MAX_SUMMARY_CHARS = 2_000
MAX_COMMENT_CHARS = 10_000
MAX_TOPIC_LABEL_CHARS = 300
MAX_EVIDENCE = 100
CONFIDENCE_RANGE = (1, 5)
SAFE_URL = URLValidator(schemes=["http", "https"])

T = TypeVar("T")


def _plain(error: ValidationError) -> ValidationError:
    """The same messages without their field keys (anchoring's checks key theirs)."""
    return ValidationError(error.messages) if hasattr(error, "error_dict") else error


def keyed(field: str, check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a one-field validator, reporting its error as {field: [messages]} (the services'
    shape). An error that is keyed already passes through unchanged."""
    try:
        return check(*args, **kwargs)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise ValidationError({field: error.error_list}) from None


# --- Text ------------------------------------------------------------------------------------


def validate_text(value: object, field: str, *, max_chars: int = MAX_NOTE_CHARS) -> str:
    """Free text (a note, a summary, a comment): None is empty; line breaks become `\\n`; at
    most `max_chars` characters; nothing PostgreSQL cannot store (NUL, lone surrogates)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", code="invalid")
    try:
        anchoring.check_text(value, field)
    except ValidationError as error:
        raise _plain(error) from None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(value) > max_chars:
        raise ValidationError(
            f"{field} is {len(value)} characters; at most {max_chars}.", code="max_length"
        )
    return value


def validate_line(value: object, field: str, *, max_chars: int, required: bool = False) -> str:
    """One line of text, trimmed; `required` refuses an empty one."""
    text = validate_text(value, field, max_chars=max_chars).strip()
    if "\n" in text:
        raise ValidationError(f"{field} must be a single line.", code="invalid")
    if required and not text:
        raise ValidationError(f"{field} is required.", code="required")
    return text


def validate_url(value: object, field: str = "source_url") -> str:
    """An http:// or https:// address, or empty (never javascript:, data:, ...)."""
    text = validate_line(value, field, max_chars=2000)
    if text:
        try:
            SAFE_URL(text)
        except ValidationError:
            raise ValidationError(
                f"{field} must be an http:// or https:// address.", code="invalid"
            ) from None
    return text


def validate_topic_label(value: object, field: str = "topic") -> str:
    """A topic's label: one non-empty line."""
    return validate_line(value, field, max_chars=MAX_TOPIC_LABEL_CHARS, required=True)


# --- Choices, labels, numbers ----------------------------------------------------------------


def validate_choice(
    value: object, field: str, choices: type[Choices], *, required: bool = True
) -> str:
    """One of the choices' values; when not `required`, None or "" gives ""."""
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or value not in _values_of(choices):
        raise ValidationError(
            f"{field} must be one of {', '.join(choices.values)}; got {value!r}.",
            code="invalid_choice",
        )
    return value


@functools.cache
def _values_of(choices: type[Choices]) -> frozenset[str]:
    """The choices' values (Choices.values builds a new list on every call: an import asks
    once per annotation)."""
    return frozenset(choices.values)


def validate_stance(value: object, field: str = "stance", *, required: bool = True) -> str:
    return validate_choice(value, field, Stance, required=required)


def validate_labels(
    value: object, field: str = "labels", *, allowed: Sequence[str] = ()
) -> list[str]:
    """A list of labels, each one line, without repeats; with `allowed` (a corpus's label set),
    only those. None is no labels."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(f"{field} must be a list of text labels.", code="invalid")
    if len(value) > MAX_LABELS:
        raise ValidationError(
            f"{field} has {len(value)} labels; at most {MAX_LABELS}.", code="max_length"
        )
    labels: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationError(f"{field} must contain text labels only.", code="invalid")
        label = validate_line(item, field, max_chars=MAX_LABEL_LENGTH)
        if not label:
            raise ValidationError(f"{field} contains an empty label.", code="invalid")
        if allowed and label not in allowed:
            raise ValidationError(
                f"{label!r} is not one of this corpus's labels ({', '.join(allowed)}).",
                code="invalid_choice",
            )
        if label not in labels:
            labels.append(label)
    return labels


def validate_int(value: object, field: str) -> int:
    """A whole number, given as one or as its text (true/false and 2.5 are not whole numbers)."""
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValidationError(f"{field} must be a whole number.", code="invalid")


def validate_bool(value: object, field: str) -> bool:
    """True or false as JSON has them (no "yes", no 1: a form field maps its own widget)."""
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false.", code="invalid")
    return value


def validate_confidence(value: object, field: str = "confidence") -> int | None:
    """A whole number from 1 to 5 (a digit string too, as forms send it); None or "" is none."""
    low, high = CONFIDENCE_RANGE
    if value in (None, ""):
        return None
    whole = f"{field} must be a whole number from {low} to {high}."
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(whole, code="invalid")
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(whole, code="invalid") from None
    if not low <= number <= high:
        raise ValidationError(f"{field} must be from {low} to {high}; got {number}.", code="range")
    return number


def validate_version(value: object, field: str = "version") -> int | None:
    """The version a client edited (a digit string too, as forms send it); None or "" when the
    client did not say. Whether it is the current one is the services' check (412)."""
    if value in (None, ""):
        return None
    whole = f"{field} must be a whole number."
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(whole, code="invalid")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ValidationError(whole, code="invalid")
    return int(text)


# --- Spans and evidence ----------------------------------------------------------------------


def validate_span(
    text: str,
    *,
    start: object = None,
    end: object = None,
    exact: object = None,
    prefix: object = None,
    suffix: object = None,
) -> anchoring.Span:
    """A span of `text` (normalised, as stored) by offsets or by quote; see anchoring.

    Several fields at once: the error is keyed by field (start, end, exact, prefix, suffix)."""
    # anchoring checks the types of exact, prefix and suffix, and says what is wrong.
    return anchoring.resolve_span(
        text,
        start=start,
        end=end,
        exact=exact,  # type: ignore[arg-type]  # anchoring checks the type and says so
        prefix=prefix,  # type: ignore[arg-type]
        suffix=suffix,  # type: ignore[arg-type]
    )


class EvidenceFields(TypedDict, total=False):
    """A cleaned evidence item, ready for Evidence(**fields): a span's or a source's fields."""

    kind: str
    evidence_type: str
    role: str
    start: int
    end: int
    exact: str
    url: str
    title: str
    quote: str


def validate_evidence(text: str, items: object, field: str = "evidence") -> list[EvidenceFields]:
    """A list of evidence items for an annotation on an article with this `text`; every bad
    item is reported as "Evidence <n>: <field>: <message>". Returns the items as Evidence fields.
    """
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise ValidationError(f"{field} must be a list.", code="invalid")
    if len(items) > MAX_EVIDENCE:
        raise ValidationError(f"At most {MAX_EVIDENCE} evidence items.", code="max_length")
    cleaned: list[EvidenceFields] = []
    errors: list[str] = []
    for number, item in enumerate(items, start=1):
        try:
            cleaned.append(_evidence_item(text, item))
        except ValidationError as error:
            details = (
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
                if hasattr(error, "error_dict")
                else " ".join(error.messages)
            )
            errors.append(f"Evidence {number}: {details}")
    if errors:
        raise ValidationError(errors, code="invalid")
    return cleaned


def validate_evidence_item(text: str, item: object) -> EvidenceFields:
    """One evidence item (a form adding one): several fields at once, so the error is keyed by
    field (kind, evidence_type, role, start, end, exact, url, title, quote)."""
    return _evidence_item(text, item)


def _evidence_item(text: str, item: object) -> EvidenceFields:
    if not isinstance(item, Mapping):
        raise ValidationError("each evidence item must be an object.")
    kind = item.get("kind") or (
        EvidenceKind.SOURCE
        if any(item.get(k) for k in ("url", "title", "quote"))
        else EvidenceKind.SPAN
    )
    kind = keyed("kind", validate_choice, kind, "kind", EvidenceKind)
    data: EvidenceFields = {
        "kind": kind,
        "evidence_type": keyed(
            "evidence_type",
            validate_choice,
            item.get("evidence_type") or EvidenceType.OTHER,
            "evidence_type",
            EvidenceType,
        ),
        "role": keyed(
            "role", validate_choice, item.get("role") or EvidenceRole.SUPPORTS, "role", EvidenceRole
        ),
    }
    if kind == EvidenceKind.SPAN:
        span = validate_span(
            text,
            start=item.get("start"),
            end=item.get("end"),
            exact=item.get("exact"),
            prefix=item.get("prefix"),
            suffix=item.get("suffix"),
        )
        data.update({"start": span.start, "end": span.end, "exact": span.exact})
    else:
        url = keyed("url", validate_url, item.get("url"), "url")
        title = keyed("title", validate_line, item.get("title"), "title", max_chars=500)
        quote = keyed("quote", validate_text, item.get("quote"), "quote", max_chars=5000).strip()
        data.update({"url": url, "title": title, "quote": quote})
        if not (url or title or quote):
            raise ValidationError({"url": ["A source needs a url, a title or a quote."]})
    return data


# --- People ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    role: str


def corpus_members(corpus_id: int, usernames: Iterable[object]) -> dict[str, Member]:
    """The members of the corpus among these usernames, in one query (others are left out)."""
    # The databases cannot compare a string holding NUL or a lone surrogate; no username has one.
    wanted = {n for n in usernames if isinstance(n, str) and n and _storable(n)}
    if not wanted:
        return {}
    rows = Membership.objects.filter(corpus_id=corpus_id, user__username__in=wanted).values_list(
        "user__username", "user_id", "role"
    )
    return {name: Member(user_id, name, role) for name, user_id, role in rows}


def _storable(value: str) -> bool:
    try:
        anchoring.check_text(value)
    except ValidationError:
        return False
    return True


@functools.cache
def _roles_from(minimum: str) -> str:
    """'curator or owner' for curator: the roles at or above `minimum`, lowest first."""
    ranked = sorted(ROLE_RANK.items(), key=lambda pair: pair[1])
    roles = [str(role) for role, n in ranked if n >= rank(minimum)]
    return roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} or {roles[-1]}"


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def validate_member(
    value: object, field: str, *, members: Mapping[str, Member], minimum: str = Role.ANNOTATOR
) -> Member:
    """A username naming a member of the corpus whose role is at least `minimum`.

    `members` is what corpus_members() found for the usernames in hand (the importer looks them
    all up at once). A name that is no member gets the same message whether or not such a user
    exists, so the answer does not tell who has an account.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a username.", code="invalid")
    needed = _roles_from(minimum)
    member = members.get(value)
    if member is None:
        raise ValidationError(
            f"{field} {value!r} is not a member of this corpus; the {field} must be a member "
            f"with the role {needed}.",
            code="not_a_member",
        )
    if rank(member.role) < rank(minimum):
        raise ValidationError(
            f"{field} {value!r} is {_a(member.role)} of this corpus; the {field} must be "
            f"{_a(needed)}.",
            code="role",
        )
    return member


def validate_member_of(
    corpus_id: int, value: object, field: str, *, minimum: str = Role.ANNOTATOR
) -> Member:
    """validate_member for one username (a form or serializer field): one query."""
    return validate_member(
        value, field, members=corpus_members(corpus_id, [value]), minimum=minimum
    )
