"""The forms of the pages around the annotation page: the dashboard, a corpus (import), its team
pages (settings, assignments, trash), the review of a claim and its thread, the API tokens.

Forms parse; services decide. A field's check is one of articles.validators, the check the API
and the import run, so a mistake reads the same wherever it is made ("name is required."). What
needs the database or the caller (who may, which user, versions, duplicates) stays in the services;
their refusals come back onto the form through `PageForm.refuse`, and the page shows them where it
shows the form's own mistakes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from . import services, validators
from .models import Review, ReviewDecision, Role

Check = Callable[[Any, str], Any]  # a validator taking (value, field name)


class Checked(forms.Field):
    """A field cleaned by one of articles.validators, named after the form's field. Optional to
    Django: emptiness is the validator's to judge (`required=True` to the validator)."""

    def __init__(self, check: Check, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.check = check
        self.name = "value"

    def clean(self, value: Any) -> Any:
        return self.check(value, self.name)


def line(max_chars: int, *, required: bool = False, **kwargs: Any) -> Checked:
    return Checked(
        partial(validators.validate_line, max_chars=max_chars, required=required), **kwargs
    )


def text(max_chars: int = validators.MAX_NOTE_CHARS, **kwargs: Any) -> Checked:
    return Checked(partial(validators.validate_text, max_chars=max_chars), **kwargs)


class Passed(forms.Field):
    """A value the service checks (an id, a version, a username to look up), passed on as typed
    ("" when absent): the service words its mistakes, Django's checks would word them too."""

    def to_python(self, value: Any) -> Any:
        return "" if value is None else value


def passed_on(**kwargs: Any) -> Passed:
    return Passed(required=False, **kwargs)


def hidden() -> Passed:
    return passed_on(widget=forms.HiddenInput)


def split_lines(value: str, *, commas: bool = False) -> list[str]:
    """The non-empty lines of a textarea (and its comma-separated parts, with `commas`)."""
    if commas:
        value = value.replace(",", "\n")
    return [part.strip() for part in value.splitlines() if part.strip()]


def _labels(value: Any, field: str, *, commas: bool = False) -> list[str]:
    return validators.validate_labels(split_lines(value or "", commas=commas), field)


class PageForm(forms.Form):
    """A page's form: what was typed (`values`), the mistakes by field (`error_map`, with the
    form's own under "form"), and `refuse`, which files a service's refusal on the form and says
    the status the page answers with."""

    CONFLICT_FIELD: ClassVar[str | None] = None  # where a duplicate (services.Conflict) is shown

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, Checked):
                field.name = name

    @property
    def values(self) -> dict[str, Any]:
        """Each field as typed (for the form shown again)."""
        return {name: self[name].value() for name in self.fields}

    @property
    def error_map(self) -> dict[str, list[str]]:
        return {
            "form" if name == NON_FIELD_ERRORS else name: [str(p) for p in problems]
            for name, problems in self.errors.items()
        }

    def error_text(self) -> str:
        return " ".join(str(problem) for problems in self.errors.values() for problem in problems)

    @property
    def status(self) -> int:
        """The status of a page refusing this form: 413 for text over a limit, else 400."""
        codes = {e.code for problems in self.errors.as_data().values() for e in problems}
        return 413 if "too_large" in codes else 400

    def refuse(self, error: Exception) -> int:
        """File a service's refusal; return the page's status: 400 for a ValidationError (its
        messages beside the fields they name; those of hidden fields, such as the version, for
        the whole form), 409 for a duplicate or a stale version, 413 for text over a limit."""
        if isinstance(error, ValidationError):
            problems = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            for name, messages in problems.items():
                field = self.fields.get(name)
                shown = field is not None and not field.widget.is_hidden
                self.add_error(name if shown else None, messages)
            return 400
        if isinstance(error, services.PayloadTooLarge):
            self.add_error(None, ValidationError(str(error), code="too_large"))
            return 413
        if isinstance(error, services.Conflict):
            self.add_error(self.CONFLICT_FIELD, ValidationError(str(error), code="conflict"))
            return 409
        if isinstance(error, services.StaleVersion):
            self.add_error(None, ValidationError(str(error), code="stale"))
            return 409
        raise error


# --- Dashboard and corpus page -------------------------------------------------------------


class CorpusCreateForm(PageForm):
    name = line(200, required=True)
    slug = passed_on()
    description = text(20_000)
    topics = Checked(lambda value, field: split_lines(value or ""))
    claim_labels = Checked(_labels)
    blind = forms.BooleanField(required=False)

    CONFLICT_FIELD = "slug"

    def clean_topics(self) -> list[dict[str, str]]:
        labels = self.cleaned_data["topics"]
        if not labels:
            raise ValidationError(
                "Add at least one topic: the proposition stances are taken toward."
            )
        return [{"label": label} for label in labels]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Every file posted under the name (an empty one too: the importer says what is wrong)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(allow_empty_file=True, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files]


ARTICLE_FIELDS = ("title", "text", "author", "source_url", "published_on")


class ArticleImportForm(PageForm):
    """The corpus page's import: files, or one pasted article. The pasted fields are checked
    together so that the report names every mistake, by the article service's own cleaning (the
    one the API and the importer run)."""

    title = passed_on()
    text = passed_on()
    author = passed_on()
    source_url = passed_on()
    published_on = passed_on()
    # The field's name is the page's (`<input name="files">`); on a form instance, `files` is
    # still the uploads Django parsed, as always (declared fields live in `fields`).
    files = MultipleFileField(required=False)  # type: ignore[assignment]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("files"):
            return data
        if not (data["title"].strip() or data["text"].strip()):
            raise ValidationError("Paste an article's title and text, or choose files to upload.")
        for name in ARTICLE_FIELDS:
            try:
                cleaned = services.clean_article_fields({name: data.get(name)}, partial=True)
            except ValidationError as error:
                self.add_error(name, error.messages)
            except services.PayloadTooLarge as error:
                self.add_error(name, ValidationError(str(error), code="too_large"))
            else:
                data.update(cleaned)
        return data

    @property
    def pasted(self) -> dict[str, Any]:
        """The pasted fields as typed, to show them again."""
        return {name: self.values[name] or "" for name in ARTICLE_FIELDS}


# --- Corpus settings -----------------------------------------------------------------------


class VersionedForm(PageForm):
    """A form changing something that has a version (the service compares it: 409 when stale).
    Alone, it is the settings' "open review" button."""

    version = hidden()


class CorpusSettingsForm(VersionedForm):
    name = line(200, required=True)
    description = text()
    blind = forms.BooleanField(required=False)
    claim_labels = Checked(partial(_labels, commas=True))  # one per line, or comma-separated


class TopicAddForm(PageForm):
    label = Checked(validators.validate_topic_label)
    description = text(5000)

    CONFLICT_FIELD = "label"


class TopicForm(PageForm):
    topic = passed_on()


class TopicEditForm(VersionedForm, TopicForm, TopicAddForm):
    pass


class MemberForm(PageForm):
    username = line(254, required=True)


class MemberRoleForm(MemberForm):
    """A member to add, or whose role changes."""

    role = Checked(partial(validators.validate_choice, choices=Role))


# --- Assignments ---------------------------------------------------------------------------


class AssignmentsForm(PageForm):
    """Every form of the assignments page says where to come back: the page of articles it was
    on and the section (the anchor); anything else there is ignored."""

    page = passed_on()
    anchor = passed_on()

    ANCHORS = ("articles", "balance")

    def back(self) -> tuple[str, str]:
        """(query string, anchor) of the place to come back to."""
        page, anchor = self.data.get("page", ""), self.data.get("anchor", "")
        return (
            f"page={page}" if page.isascii() and page.isdigit() else "",
            anchor if anchor in self.ANCHORS else "",
        )


class AssignForm(AssignmentsForm):
    article = line(30, required=True)
    annotator = passed_on()


class UnassignForm(AssignmentsForm):
    assignment = line(30, required=True)


class BalanceForm(AssignmentsForm):
    per_article = passed_on()
    annotators = Checked(
        lambda value, field: [name.strip() for name in value or [] if name.strip()],
        widget=forms.MultipleHiddenInput,
    )


# --- Trash ---------------------------------------------------------------------------------


class TrashedArticleForm(PageForm):
    article = line(30, required=True)


class PurgeForm(TrashedArticleForm):
    confirm = forms.ChoiceField(
        choices=[("yes", "yes")],
        error_messages={
            "required": "Tick the box to confirm: purging cannot be undone.",
            "invalid_choice": "Tick the box to confirm: purging cannot be undone.",
        },
    )


class TrashedClaimForm(PageForm):
    claim = line(30, required=True)


# --- Review of a claim, and its thread -----------------------------------------------------


class ReviewForm(VersionedForm):
    """A curator's decision. "Accept the agreed stance" (`quick`) fills in what every annotator
    chose; a rejection drops the gold fields and needs a reason. A decision taken on an old
    version of the review is a conflict (409), told as `conflict`."""

    decision = passed_on()
    topic = passed_on()
    stance = Checked(partial(validators.validate_stance, required=False))
    note = text()
    quick = passed_on()
    then = passed_on()
    q = passed_on()  # the queue's filters, to find the next claim in the same queue

    FIELDS = ("decision", "stance", "topic", "note")

    def __init__(self, *args: Any, agreed: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agreed = agreed
        self.conflict = ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("quick") == "agreed" and self.agreed:
            data["decision"] = ReviewDecision.ACCEPTED
            data["stance"] = self.agreed["stance"]
            data["topic"] = str(self.agreed["topic"].pk)
        try:
            data["decision"] = validators.validate_choice(
                data.get("decision"), "decision", ReviewDecision
            )
        except ValidationError as error:
            self.add_error("decision", error)
            return data
        if data["decision"] == ReviewDecision.REJECTED:
            # A rejected claim has no gold label, whatever the form's other fields still hold.
            data["topic"] = data["stance"] = ""
            if not data.get("note", "").strip():
                self.add_error("note", "Say why you reject this claim (a short note).")
        return data

    @property
    def decided(self) -> dict[str, str]:
        """The decision as the form last had it, to show it again."""
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: str(cleaned[name]) if name in cleaned else self.data.get(name, "")
            for name in self.FIELDS
        }

    def refuse(self, error: Exception) -> int:
        if isinstance(error, services.StaleVersion) and isinstance(error.current, Review):
            current = error.current
            self.conflict = (
                f"{current.curator.username} changed this review meanwhile (it is now "
                f"{current.get_decision_display().lower()}"
                + (f", gold stance {current.stance}" if current.stance else "")
                + "). Your decision was not saved: look at the current review below and "
                "decide again."
            )
            return 409
        if isinstance(error, ValidationError) and "version" in getattr(error, "error_dict", {}):
            self.conflict = (
                "The review of this claim was removed meanwhile. Your decision was not saved: "
                "decide again."
            )
            return 409
        return super().refuse(error)


class CommentForm(PageForm):
    text = text(validators.MAX_COMMENT_CHARS)
    next = passed_on()


# --- API tokens ----------------------------------------------------------------------------

EXPIRY_CHOICES = [
    ("", "Never (until you revoke it)"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class TokenForm(PageForm):
    name = line(
        100,
        required=True,
        label="Name",
        help_text="What the token is for, e.g. “export script on the lab server”.",
    )
    expires_in = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES,
        coerce=lambda days: timedelta(days=int(days)),
        empty_value=None,
        required=False,
        label="Expires",
    )


# --- Managing articles: an article's details, and bulk actions on the corpus page ---------


class ArticleEditForm(VersionedForm):
    """An article's details (the text is the re-anchoring feature's): the article service
    cleans them, so a mistake reads as it does in the API."""

    title = passed_on()
    author = passed_on()
    source_url = passed_on()
    published_on = passed_on()
    language = passed_on()

    FIELDS = ("title", "author", "source_url", "published_on", "language")


BULK_ACTIONS = {"delete": "Move to the trash", "assign": "Assign to", "export": "Export as"}


class BulkArticlesForm(PageForm):
    """The corpus page's bulk actions: the ticked articles, what to do, and to whom or how."""

    articles = Checked(
        lambda value, field: [v for v in value or [] if str(v).strip()],
        widget=forms.MultipleHiddenInput,
    )
    bulk_action = line(20, required=True)
    annotator = passed_on()
    format = passed_on()

    def clean_bulk_action(self) -> str:
        action = self.cleaned_data["bulk_action"]
        if action not in BULK_ACTIONS:
            raise ValidationError(
                f"bulk_action must be one of {', '.join(BULK_ACTIONS)}; got {action!r}."
            )
        return action


# --- Invitations -------------------------------------------------------------------------


class InvitationForm(PageForm):
    """An owner invites a person by e-mail with a role (the service checks both)."""

    email = passed_on()
    role = passed_on()


# --- Annotation guidelines ---------------------------------------------------------------


class GuidelinesForm(VersionedForm):
    """The guidelines' Markdown (the service checks its length)."""

    text = passed_on()
