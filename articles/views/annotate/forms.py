"""The annotation page's forms: every POST (and the partials' query strings) parsed by one form.

Forms parse and clean; services decide. Each field is checked by articles.validators, the same
checks the API and the import run, so a mistake is worded the same wherever it is made. The rules
that need the database or the caller (who may, versions, duplicates) stay in the services.

Fields are plain `forms.Field`s handing the posted text to `clean_<field>` untouched: Django's
typed fields would word their mistakes their own way ("Enter a whole number.").
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import TextChoices

from ... import validators
from ...models import Corpus, RelationKind
from .claim_list import FILTERS
from .search import QUERY_CHARS

_INTEGER = re.compile(r"-?\d{1,30}")


def _field() -> forms.Field:
    """One posted value, as sent (None when absent)."""
    return forms.Field(required=False)


def _list_field() -> forms.Field:
    """Every value posted under the name (checkboxes), as a list."""
    return forms.Field(required=False, widget=forms.MultipleHiddenInput)


def _offset(value: str | None) -> Any:
    """Offsets arrive as text: whole numbers become ints; anything else is passed on unchanged
    so that the span's validator says what is wrong with it."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    return int(value) if _INTEGER.fullmatch(value) else value


def _optional(value: str | None) -> str | None:
    return value if value else None


def _claim_id(value: str | None) -> int | None:
    """A claim's id from a form: None when absent or not an id (it then names no claim)."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and 0 < len(value) < 19 and int(value) > 0:
        return int(value)
    return None


def _summary(value: str | None) -> str:
    summary = validators.validate_text(value, "summary", max_chars=validators.MAX_SUMMARY_CHARS)
    return summary.strip()


class PageForm(forms.Form):
    """A form of the page. `parse()` gives the cleaned values, or raises the mistakes as a
    ValidationError keyed by field: the shape the services raise, so one handler answers both."""

    def parse(self) -> dict[str, Any]:
        if not self.is_valid():
            raise ValidationError(self.errors.as_data())
        return self.cleaned_data


class VersionedForm(PageForm):
    """A form editing something that has a version (hidden in the form)."""

    version = _field()

    def clean_version(self) -> int:
        # A form without a version (sent twice quickly) must not overwrite: 0 is never current.
        return validators.validate_version(self.cleaned_data["version"]) or 0


# --- Navigation ------------------------------------------------------------------------------


class FilterForm(PageForm):
    """Which claims the list shows (`?filter=`, and the hidden `filter` a write goes back to);
    an unknown name shows them all."""

    filter = _field()

    def clean_filter(self) -> str:
        name = self.cleaned_data["filter"]
        return name if name in FILTERS else "all"

    @property
    def name(self) -> str:
        return self.parse()["filter"]


# --- Claims ----------------------------------------------------------------------------------


class SpanForm(PageForm):
    """A form naming a span of the article: by offsets (a selection in the text) or by quote.
    The offsets arrive as text: whole numbers become ints, anything else is left for the span's
    validator to say what is wrong with it."""

    start = _field()
    end = _field()
    exact = _field()

    def __init__(self, data: Any, *, text: str) -> None:
        super().__init__(data)
        self.text = text

    def clean_start(self) -> Any:
        return _offset(self.cleaned_data["start"])

    def clean_end(self) -> Any:
        return _offset(self.cleaned_data["end"])

    def clean_exact(self) -> str | None:
        return _optional(self.cleaned_data["exact"])


class ClaimForm(SpanForm):
    """A new claim: its span (with optional context around a quote) and an optional summary."""

    summary = _field()

    def __init__(self, data: Any, *, text: str) -> None:
        super().__init__(data, text=text)
        # Declared here: a class attribute named "prefix" would hide the form's own `prefix`.
        self.fields["prefix"] = _field()
        self.fields["suffix"] = _field()

    def clean_prefix(self) -> str | None:
        return _optional(self.cleaned_data["prefix"])

    def clean_suffix(self) -> str | None:
        return _optional(self.cleaned_data["suffix"])

    def clean_summary(self) -> str:
        return _summary(self.cleaned_data["summary"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        span = validators.validate_span(
            self.text,
            start=data.get("start"),
            end=data.get("end"),
            exact=data.get("exact"),
            prefix=data.pop("prefix", None),
            suffix=data.pop("suffix", None),
        )
        data.update(start=span.start, end=span.end, exact=span.exact)
        return data


class ClaimFieldForm(VersionedForm):
    """A form changing one of the claim's own fields, named by `field`."""

    field: str = ""

    def __init__(self, data: Any, *, corpus: Corpus) -> None:
        super().__init__(data)
        self.corpus = corpus


class ClaimSummaryForm(ClaimFieldForm):
    field = "summary"
    summary = _field()

    def clean_summary(self) -> str:
        return _summary(self.cleaned_data["summary"])


class ClaimLabelsForm(ClaimFieldForm):
    """The claim's own labels, among the corpus's: the ticked boxes are the whole set (none
    ticked clears them)."""

    field = "labels"
    labels = _list_field()

    def clean_labels(self) -> list[str]:
        return validators.validate_labels(
            self.cleaned_data["labels"], allowed=self.corpus.claim_labels
        )


# --- My tag and its evidence -----------------------------------------------------------------


class AnnotationForm(PageForm):
    """My tag of a claim. The stance buttons submit the whole form, so a form sent with the Save
    button and no stance keeps the stance I had. No version: I have no tag yet."""

    stance = _field()
    topic = _field()
    labels = _list_field()
    confidence = _field()
    note = _field()
    version = _field()

    def __init__(self, data: Any, *, allowed_labels: list[str], stance_now: str = "") -> None:
        super().__init__(data)
        self.allowed_labels = allowed_labels
        self.stance_now = stance_now

    def clean_stance(self) -> str:
        stance = self.cleaned_data["stance"] or self.stance_now
        if not stance:
            raise ValidationError("Choose a stance: support, oppose or neutral.", code="required")
        return validators.validate_stance(stance)

    def clean_topic(self) -> str | None:
        # A topic's id or label; the service finds it among the corpus's topics.
        return self.cleaned_data["topic"] or None

    def clean_labels(self) -> list[str]:
        return validators.validate_labels(self.cleaned_data["labels"], allowed=self.allowed_labels)

    def clean_confidence(self) -> int | None:
        return validators.validate_confidence(self.cleaned_data["confidence"])

    def clean_note(self) -> str:
        return validators.validate_text(self.cleaned_data["note"], "note").strip()

    def clean_version(self) -> int | None:
        return validators.validate_version(self.cleaned_data["version"])


class EvidenceForm(SpanForm, VersionedForm):
    """One evidence item added to my tag: a passage of the article (kind=span, by offsets or by
    quote) or an outside source (kind=source: url, title, quote). `item` is the cleaned item."""

    kind = _field()
    url = _field()
    title = _field()
    quote = _field()
    evidence_type = _field()
    role = _field()

    def __init__(self, data: Any, *, text: str) -> None:
        super().__init__(data, text=text)
        self.item: validators.EvidenceFields = {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        self.item = validators.validate_evidence_item(
            self.text,
            {
                "kind": data.get("kind") or None,
                "start": data.get("start"),
                "end": data.get("end"),
                "exact": data.get("exact"),
                "url": data.get("url"),
                "title": data.get("title"),
                "quote": data.get("quote"),
                "evidence_type": data.get("evidence_type"),
                "role": data.get("role"),
            },
        )
        return data


# --- Relations and comments ------------------------------------------------------------------


class Direction(TextChoices):
    OUT = "out", "This claim … the other"
    IN = "in", "The other … this claim"


class RelationForm(PageForm):
    """A link from the open claim to another (or from another to it, direction=in): the other
    claim chosen among the matches (`target`), or only the words typed to find it (`q`)."""

    target = _field()
    direction = _field()
    kind = _field()
    q = _field()

    def clean_target(self) -> int | None:
        return _claim_id(self.cleaned_data["target"])

    def clean_direction(self) -> str:
        direction = self.cleaned_data["direction"] or Direction.OUT
        return validators.validate_choice(direction, "direction", Direction)

    def clean_kind(self) -> str:
        return validators.validate_choice(self.cleaned_data["kind"] or "", "kind", RelationKind)

    def clean_q(self) -> str:
        # Words to search for: anything may be typed, only the first QUERY_CHARS count.
        return (self.cleaned_data["q"] or "")[:QUERY_CHARS].strip()


class RelationSearchForm(PageForm):
    """The relation form's search as it types (`q`), or the claim picked in the text (`pick`,
    0 when it names no claim)."""

    q = _field()
    pick = _field()

    def clean_q(self) -> str:
        return (self.cleaned_data["q"] or "")[:QUERY_CHARS]

    def clean_pick(self) -> int | None:
        pick = self.cleaned_data["pick"]
        return None if pick is None else (_claim_id(pick) or 0)


class BackToClaimForm(PageForm):
    """The claim whose panel a relation's removal came from (None: not said)."""

    claim = _field()

    def clean_claim(self) -> int | None:
        return _claim_id(self.cleaned_data["claim"])


class CommentForm(PageForm):
    text = _field()

    def clean_text(self) -> str:
        return validators.validate_text(
            self.cleaned_data["text"], "text", max_chars=validators.MAX_COMMENT_CHARS
        )
