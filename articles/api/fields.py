"""Input fields checked by the shared field validators (articles.validators).

A mistake then reads the same in the API, on the page and in an import: "stance must be one of
support, oppose, neutral; got 'maybe'." rather than DRF's own wording. Each field keeps its DRF
class, so the schema still says its type, length and choices.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Choices
from rest_framework import serializers
from rest_framework.fields import empty

from articles import validators
from articles.models import Stance

Check = Callable[[Any, str], Any]  # a validator taking (value, field name)


class Checked(serializers.Field):
    """A field whose value one of articles.validators checks and cleans, so that the API words a
    mistake as the pages and the importer do. The DRF field class stays for the schema (type,
    maxLength, enum); `required`, `allow_null` and partial updates behave as DRF's, while length,
    choices and emptiness are the validator's to judge (DRF's own checks of them do not run)."""

    def __init__(self, *args: Any, check: Check, **kwargs: Any):
        self.check = check
        super().__init__(*args, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        is_empty, data = self.validate_empty_values(data)
        if is_empty:
            return data
        try:
            return self.check(data, self.field_name or "value")
        except DjangoValidationError as error:
            raise serializers.ValidationError(list(error.messages)) from None


class CheckedChar(Checked, serializers.CharField):
    pass


class CheckedChoice(Checked, serializers.ChoiceField):
    pass


class CheckedInteger(Checked, serializers.IntegerField):
    pass


class CheckedList(Checked, serializers.ListField):
    pass


def free_text(max_chars: int = validators.MAX_NOTE_CHARS, **kwargs: Any) -> CheckedChar:
    """Free text (a note, a summary, a description, a comment), whitespace kept; optional
    unless the kwargs say otherwise."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    check = partial(validators.validate_text, max_chars=max_chars)
    return CheckedChar(check=check, trim_whitespace=False, **kwargs)


def line(max_chars: int, *, blank: bool = True, **kwargs: Any) -> CheckedChar:
    """One line of text, optional; `blank=False`: never empty, and sent unless `required=False`
    (an update may leave it out)."""
    check = partial(validators.validate_line, max_chars=max_chars, required=not blank)
    if blank:
        kwargs.update(required=False, allow_blank=True, trim_whitespace=False)
    return CheckedChar(check=check, max_length=max_chars, **kwargs)


def url() -> CheckedChar:
    return CheckedChar(
        check=validators.validate_url,
        max_length=2000,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
    )


def choice(choices: type[Choices], **kwargs: Any) -> CheckedChoice:
    return CheckedChoice(
        check=partial(validators.validate_choice, choices=choices),
        choices=choices.choices,
        **kwargs,
    )


def stance(**kwargs: Any) -> CheckedChoice:
    """A stance; with `allow_blank`, an empty one (or null) means none."""
    return CheckedChoice(
        check=partial(validators.validate_stance, required=not kwargs.get("allow_blank", False)),
        choices=Stance.choices,
        **kwargs,
    )


def labels() -> CheckedList:
    return CheckedList(
        check=validators.validate_labels, child=serializers.CharField(), required=False
    )


def confidence() -> CheckedInteger:
    return CheckedInteger(check=validators.validate_confidence, required=False, allow_null=True)
