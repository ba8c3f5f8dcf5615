"""FilterSets shared by the HTML lists and the API lists.

Every filter is optional and unknown parameters are ignored; a bad value makes the FilterSet
invalid with the parameter named in `errors` (the API answers 400). Ids are opaque strings to
clients, so id filters accept only what an id of ours can look like (never a number the database
would overflow on). Ordering is never taken from the client: each list fixes its own.

The HTML pages' own lists (the corpus's articles, the review queue, the audit log) have their
FilterSets in `articles.filters.pages`: lenient where these are strict (a bad value is dropped with
a warning, the page still shows).
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django_filters.fields import IsoDateTimeField

from ..access import Access, Kind
from ..models import (
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Comment,
    CorpusCounts,
    MemberCounts,
    Relation,
    Review,
    ReviewDecision,
    Stance,
    Suggestion,
)

_ID = re.compile(r"[0-9]{1,19}")


class IdField(forms.CharField):
    """An object id as the API gives it out (a string of digits)."""

    default_error_messages = {"invalid": "Enter an id as the API gives it (a string of digits)."}

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not _ID.fullmatch(value) or not 0 < int(value) < 2**63:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(value)


class SinceField(IsoDateTimeField):
    """An ISO 8601 date or date-time; without a zone it is read as UTC."""

    default_error_messages = {
        "invalid": "Enter an ISO 8601 date or date-time, e.g. 2025-01-31 or 2025-01-31T08:00:00Z."
    }

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None:
            try:
                # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts (-16:09).
                moment = moment.astimezone(UTC)
            except OverflowError:
                message = self.error_messages["invalid"]
                raise forms.ValidationError(message, code="invalid") from None
        return moment


class IdFilter(django_filters.Filter):
    field_class = IdField


class SinceFilter(django_filters.IsoDateTimeFilter):
    field_class = SinceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "updated_at")
        kwargs.setdefault("lookup_expr", "gte")
        kwargs.setdefault("label", "Changed at or after this moment (ISO 8601).")
        super().__init__(*args, **kwargs)


class AccessFilterSet(django_filters.FilterSet):
    """A FilterSet whose filters on people's work look only at what the caller may see: pass
    the request's `access` (access.Access); filters then go through `self.visible(kind)`."""

    def __init__(self, data=None, queryset=None, *, access: Access, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.access = access

    def visible(self, kind: Kind) -> Q:
        return self.access.visible(kind)


def kept_by_counters(
    access: Access,
    member_field: str | None,
    *,
    rest: bool = False,
    corpus_field: str = "articles_submitted",
) -> int | None:
    """How many live articles of the caller's corpus a filter keeps, read from the counters in
    one query: those the caller's MemberCounts `member_field` counts, or (None) the corpus's
    `corpus_field`: those with a submission (CorpusCounts.articles_submitted) or with an
    assignment not submitted (articles_open); with `rest`, the corpus's other live articles.
    None when a counter row is missing (the list is counted instead)."""
    counts = CorpusCounts.objects.filter(corpus=access.corpus)
    if member_field is None:
        row = counts.values_list("articles", corpus_field).first()
    else:
        own = MemberCounts.objects.filter(
            membership__corpus=access.corpus, membership__user=access.user_id
        ).values(member_field)[:1]
        row = counts.values_list("articles", Subquery(own)).first()
    if row is None or row[1] is None:
        return None
    articles, kept = row
    return articles - kept if rest else kept


def seen_submissions(access: Access) -> str | None:
    """The counter of the articles holding a submitted assignment the caller may see (for
    kept_by_counters): the corpus's for a member who sees every assignment; otherwise the
    member's own submitted articles (they see others' assignments only on the articles they
    submitted, so an article holds one they see exactly when they submitted it)."""
    return None if access.sees_everything(Kind.ASSIGNMENT) else "submitted"


class ArticleFilterSet(AccessFilterSet):
    updated_since = SinceFilter()
    title = django_filters.CharFilter(lookup_expr="icontains", label="Title contains.")
    language = django_filters.CharFilter(label="Language code, e.g. en.")
    annotator = django_filters.CharFilter(
        method="filter_annotator", label="Assigned to this username."
    )
    state = django_filters.ChoiceFilter(
        choices=AssignmentState.choices,
        method="filter_state",
        label="With an assignment in this state (with `annotator`: that person's).",
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def _assignments(self) -> QuerySet:
        return Assignment.objects.filter(self.visible(Kind.ASSIGNMENT), article=OuterRef("pk"))

    def filter_annotator(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Exists(self._assignments().filter(annotator__username=value)))

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        assignments = self._assignments().filter(state=value)
        who = self.form.cleaned_data.get("annotator")
        if who:
            assignments = assignments.filter(annotator__username=who)
        return queryset.filter(Exists(assignments))

    def counted(self) -> int | None:
        """The list's length from the counters where they hold it (None: count the list):
        `state=submitted` alone keeps the articles with a submission the caller may see, the
        corpus page's "submitted by someone"; `state=assigned` alone, for a member who sees
        every assignment, the articles with an assignment not submitted (CorpusCounts.
        articles_open). A member who sees only some assignments sees others' on the articles
        they submitted, whose states no counter of theirs holds: their list is counted."""
        if not self.is_valid():
            return None
        given = {k: v for k, v in self.form.cleaned_data.items() if v not in (None, "")}
        if given == {"state": AssignmentState.SUBMITTED}:
            return kept_by_counters(self.access, seen_submissions(self.access))
        if given == {"state": AssignmentState.ASSIGNED} and self.access.sees_everything(
            Kind.ASSIGNMENT
        ):
            return kept_by_counters(self.access, None, corpus_field="articles_open")
        return None


class ClaimFilterSet(AccessFilterSet):
    """Claims; `annotator`, `stance` and `topic` select claims with one annotation matching all
    three; like `reviewed` and `decision`, they look only at the annotations and reviews the
    caller may see, so that blind mode leaks nothing."""

    article = IdFilter(field_name="article_id", label="Article id.")
    created_by = django_filters.CharFilter(
        field_name="created_by__username", label="Marked by this username."
    )
    updated_since = SinceFilter()
    reviewed = django_filters.ChoiceFilter(
        choices=[("true", "Reviewed"), ("false", "Not reviewed")],
        method="filter_reviewed",
        label="Has a review: true or false.",
    )
    decision = django_filters.ChoiceFilter(
        choices=ReviewDecision.choices, method="filter_decision", label="Review decision."
    )
    annotator = django_filters.CharFilter(
        method="filter_by_annotation", label="Tagged by this username."
    )
    stance = django_filters.ChoiceFilter(
        choices=Stance.choices, method="filter_by_annotation", label="Tagged with this stance."
    )
    topic = IdFilter(method="filter_by_annotation", label="Tagged toward this topic id.")

    ANNOTATION_LOOKUPS = {
        "annotator": "annotator__username",
        "stance": "stance",
        "topic": "topic_id",
    }

    class Meta:
        model = Claim
        fields: list[str] = []

    def _reviews(self) -> QuerySet:
        return Review.objects.filter(self.visible(Kind.REVIEW), claim=OuterRef("pk"))

    def filter_reviewed(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        reviewed = Exists(self._reviews())
        return queryset.filter(reviewed if value == "true" else ~reviewed)

    def filter_decision(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Exists(self._reviews().filter(decision=value)))

    def filter_by_annotation(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # applied together in filter_queryset, on one annotation

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        lookups = {
            lookup: self.form.cleaned_data[name]
            for name, lookup in self.ANNOTATION_LOOKUPS.items()
            if self.form.cleaned_data.get(name) not in (None, "")
        }
        if lookups:
            matching = Annotation.objects.filter(
                self.visible(Kind.ANNOTATION), claim=OuterRef("pk"), **lookups
            )
            queryset = queryset.filter(Exists(matching))
        return queryset


class AnnotationFilterSet(django_filters.FilterSet):
    article = IdFilter(field_name="claim__article_id", label="Article id.")
    claim = IdFilter(field_name="claim_id", label="Claim id.")
    annotator = django_filters.CharFilter(field_name="annotator__username", label="Username.")
    stance = django_filters.ChoiceFilter(choices=Stance.choices)
    topic = IdFilter(field_name="topic_id", label="Topic id.")
    status = django_filters.ChoiceFilter(choices=AnnotationStatus.choices)
    updated_since = SinceFilter()

    class Meta:
        model = Annotation
        fields: list[str] = []


class AssignmentFilterSet(django_filters.FilterSet):
    article = IdFilter(field_name="article_id", label="Article id.")
    annotator = django_filters.CharFilter(field_name="annotator__username", label="Username.")
    state = django_filters.ChoiceFilter(choices=AssignmentState.choices)

    class Meta:
        model = Assignment
        fields: list[str] = []


# --- Corpus exports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFilters:
    """What an export selects, as `ExportFilterSet` parsed it: plain values, so that the export's
    reader thread and the writers (brat picks stances by them) can hold them. The queries each
    filter stands for are here too, so that the article selection and the reader's per-batch
    claim and annotation queries cannot drift apart."""

    article_ids: tuple[int, ...] = ()
    annotator_id: int | None = None
    status: str | None = None
    gold_only: bool = False
    updated_since: datetime | None = None
    include_suggestions: bool = False  # the models' suggestions too (JSONL only)

    @property
    def selects_annotations(self) -> bool:
        return self.annotator_id is not None or self.status is not None

    def annotations_q(self, prefix: str = "") -> Q:
        """Which annotations are exported (as a filter on Annotation, or through `prefix`)."""
        q = Q()
        if self.annotator_id is not None:
            q &= Q(**{f"{prefix}annotator_id": self.annotator_id})
        if self.status is not None:
            q &= Q(**{f"{prefix}status": self.status})
        return q

    def claims_q(self) -> Q:
        """Which live claims are exported (as a filter on Claim)."""
        q = Q(deleted_at__isnull=True)
        if self.gold_only:
            q &= Q(review__decision=ReviewDecision.ACCEPTED)
        if self.selects_annotations:
            q &= Q(Exists(Annotation.objects.filter(self.annotations_q(), claim=OuterRef("pk"))))
        return q

    def select_articles(self, articles: QuerySet[Article]) -> QuerySet[Article]:
        """The selected ones of `articles` (a corpus's live articles), in id order."""
        if self.article_ids:
            articles = articles.filter(pk__in=self.article_ids)
        if self.gold_only or self.selects_annotations:
            articles = articles.filter(
                Exists(Claim.objects.filter(self.claims_q(), article=OuterRef("pk")))
            )
        if self.updated_since is not None:
            articles = articles.filter(self.changed_since_q(self.updated_since))
        return articles.order_by("id")

    @staticmethod
    def changed_since_q(moment: datetime) -> Q:
        """Articles in which anything changed at or after `moment` (as a filter on Article)."""
        live_claims = Claim.objects.filter(article=OuterRef("pk"))
        changed = [
            live_claims.filter(Q(updated_at__gte=moment) | Q(deleted_at__gte=moment)),
            Annotation.objects.filter(claim__article=OuterRef("pk"), updated_at__gte=moment),
            Review.objects.filter(claim__article=OuterRef("pk"), updated_at__gte=moment),
            Comment.objects.filter(claim__article=OuterRef("pk"), created_at__gte=moment),
            Relation.objects.filter(source_claim__article=OuterRef("pk"), created_at__gte=moment),
        ]
        return functools.reduce(
            operator.or_, (Q(Exists(rows)) for rows in changed), Q(updated_at__gte=moment)
        )


def _show(value: object) -> str:
    """A given value, quoted and cut short, for an error message."""
    text = str(value)
    return json.dumps(text[:40] + ("…" if len(text) > 40 else ""), ensure_ascii=False)


class _GivenField(forms.Field):
    """An export parameter: None when absent; an empty value counts as given, and is checked
    like any other (`?status=` is a mistake worth naming, not a request for everything)."""

    def __init__(self, *, parameter: str = "", **kwargs):
        super().__init__(**kwargs)
        self.parameter = parameter

    def invalid(self, message: str) -> forms.ValidationError:
        return forms.ValidationError(message, code="invalid")


class WordChoiceField(_GivenField):
    """One of `choices`; with `fold`, surrounding spaces and case are ignored and an empty value
    means `default`."""

    def __init__(self, *, choices: Sequence[str] = (), fold: bool = False, default=None, **kwargs):
        super().__init__(**kwargs)
        self.choices, self.fold, self.default = tuple(choices), fold, default

    def to_python(self, value):
        if value is None or (self.fold and value == ""):
            return self.default
        word = value.strip().lower() if self.fold else value
        if word not in self.choices:
            raise self.invalid(
                f"{self.parameter} must be one of {', '.join(self.choices)}; got {_show(value)}."
            )
        return word


class WordBooleanField(_GivenField):
    """true/false in the words people and scripts write (1, yes, on; 0, no, off, empty)."""

    TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
    FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})

    def to_python(self, value):
        if value is None:
            return False
        word = value.strip().lower()
        if word in self.TRUE_WORDS:
            return True
        if word not in self.FALSE_WORDS:
            raise self.invalid(f"{self.parameter} must be true or false; got {_show(value)}.")
        return False


class UsernameField(_GivenField):
    """A username, given back as the user's id."""

    def to_python(self, value):
        if value is None:
            return None
        # PostgreSQL cannot even compare a string holding NUL: no user has one anyway.
        user = (
            None
            if "\x00" in value
            else get_user_model().objects.filter(username=value.strip()).only("pk").first()
        )
        if user is None:
            raise self.invalid(f"No user {_show(value)}.")
        return user.pk


class ArticleIdsField(_GivenField):
    """Article ids, the parameter repeated or comma-separated, each a live article of the
    corpus (`articles`, given by the FilterSet); sorted, each once."""

    widget = forms.MultipleHiddenInput  # reads every value of a repeated parameter
    MAX_MESSAGES = 20

    def __init__(self, *, articles: QuerySet[Article] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.articles = articles

    def to_python(self, value) -> list[int]:
        ids: list[int] = []
        bad: list[str] = []
        for given in value or ():
            for part in str(given).split(","):
                part = part.strip()
                if part.isascii() and part.isdigit() and 0 < len(part) < 19 and int(part) > 0:
                    ids.append(int(part))
                else:
                    bad.append(part)
        if bad:
            raise forms.ValidationError(
                [
                    self.invalid(f"{_show(b)} is not an article id.")
                    for b in bad[: self.MAX_MESSAGES]
                ]
            )
        return ids

    def validate(self, value: list[int]) -> None:
        if value and self.articles is not None:
            found = set(self.articles.filter(pk__in=value).values_list("pk", flat=True))
            missing = [i for i in dict.fromkeys(value) if i not in found]
            if missing:
                raise forms.ValidationError(
                    [
                        self.invalid(f"No article {i} in this corpus.")
                        for i in missing[: self.MAX_MESSAGES]
                    ]
                )

    def clean(self, value) -> tuple[int, ...]:
        return tuple(sorted(set(super().clean(value))))


class MomentField(SinceField):
    """`SinceField`, with the value named in the message; an empty value is a bad one."""

    def __init__(self, *, parameter: str = "updated_since", **kwargs):
        super().__init__(**kwargs)
        self.parameter = parameter

    def to_python(self, value):
        if value is None:
            return None
        try:
            moment = super().to_python(value) if value.strip() else None
        except forms.ValidationError:
            moment = None
        if moment is None:
            raise forms.ValidationError(
                f"{self.parameter} must be an ISO 8601 date or date-time, e.g. "
                f"2025-01-31T12:00:00Z; got {_show(value)}.",
                code="invalid",
            )
        return moment


class ExportParameter(django_filters.Filter):
    """An export parameter, parsed by `field_class`; the parameters combine, so
    `ExportFilterSet.filter_queryset` applies them together."""

    def __init__(self, field_class: type[forms.Field], **kwargs):
        super().__init__(**kwargs)
        self.field_class = field_class

    @property
    def field(self) -> forms.Field:
        self.extra.setdefault("parameter", self.field_name)  # for the field's messages
        return super().field

    def filter(self, qs: QuerySet, value) -> QuerySet:
        return qs


class ExportFilterSet(django_filters.FilterSet):
    """The corpus export's parameters; the same filters in every format.

    - `format`: which writer (the registry's names, given by the caller; default jsonl);
    - `article` (repeatable, or comma-separated): only these articles;
    - `annotator` (a username) and `status` (draft|submitted) select annotations; when either is
      given, a claim is exported only if it keeps at least one selected annotation, and an
      article only if it keeps a claim. Without them every live claim is exported, annotated or
      not;
    - `gold_only`: only claims a curator accepted (their review carries the gold topic and
      stance);
    - `updated_since`: articles in which anything changed since that moment (the article, a
      claim created, changed or moved to the trash, an annotation, a review, a comment or a
      relation); annotations, relations and comments deleted for good leave no trace, so a
      consumer that must see deletions re-exports in full now and then.

    Unlike the lists' FilterSets, an export refuses what it does not understand: an unknown
    parameter, a single-valued one given twice, or an empty value are errors, named in `errors`
    ({parameter: [messages]}), because a silently ignored filter exports more than was asked.
    `qs` is the selected live articles (give the corpus's live articles as `queryset`);
    `export_filters` is what the reader and the writers take.
    """

    format = ExportParameter(WordChoiceField, fold=True, default="jsonl", label="Export format.")
    article = ExportParameter(ArticleIdsField, label="Article id (repeatable, or comma-separated).")
    annotator = ExportParameter(UsernameField, label="Only this username's annotations.")
    status = ExportParameter(
        WordChoiceField, choices=AnnotationStatus.values, label="Only draft or submitted ones."
    )
    gold_only = ExportParameter(WordBooleanField, label="Only claims a curator accepted.")
    updated_since = ExportParameter(MomentField, label="Changed at or after this moment.")
    include_suggestions = ExportParameter(
        WordBooleanField, label="The models' suggestions too (JSONL only; not annotations)."
    )

    SINGLE_VALUED = (
        "format",
        "annotator",
        "status",
        "gold_only",
        "updated_since",
        "include_suggestions",
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, formats: Sequence[str], **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["format"].extra["choices"] = tuple(formats)
        self.filters["article"].extra["articles"] = self.queryset

    @property
    def errors(self) -> dict[str, list[str]]:
        if not hasattr(self, "_problems"):
            problems: dict[str, list[str]] = {}
            for name in self.data:
                if name not in self.filters:
                    problems[name] = [
                        f"Unknown parameter; the export takes {', '.join(self.filters)}."
                    ]
            for name in self.SINGLE_VALUED:
                if len(self.data.getlist(name)) > 1:
                    problems[name] = [f"{name} may be given only once."]
            for name, messages in self.form.errors.items():
                problems.setdefault(name, list(messages))
            if (
                not problems
                and self.form.cleaned_data.get("include_suggestions")
                and self.form.cleaned_data.get("format") != "jsonl"
            ):
                problems["include_suggestions"] = [
                    "Only the jsonl export carries suggestions; the other formats hold "
                    "annotations only."
                ]
            self._problems = problems
        return self._problems

    def is_valid(self) -> bool:
        return self.is_bound and not self.errors

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return self.export_filters.select_articles(queryset)

    @property
    def format_name(self) -> str:
        return self.form.cleaned_data["format"]

    @property
    def export_filters(self) -> ExportFilters:
        data = self.form.cleaned_data
        return ExportFilters(
            article_ids=data.get("article") or (),
            annotator_id=data.get("annotator"),
            status=data.get("status"),
            gold_only=bool(data.get("gold_only")),
            updated_since=data.get("updated_since"),
            include_suggestions=bool(data.get("include_suggestions")),
        )


# --- Suggestions ---------------------------------------------------------------------------------


class SuggestionFilterSet(django_filters.FilterSet):
    """A model's suggestions on an article; `state` is the state the caller may see
    (suggestion_selectors.with_visible_state), so that blind mode leaks nothing."""

    model = django_filters.CharFilter(
        field_name="model", label="Made by this model (name@version)."
    )
    state = django_filters.ChoiceFilter(
        choices=[("open", "Open"), ("accepted", "Accepted"), ("rejected", "Rejected")],
        field_name="shown_state",
        label="open, accepted or rejected (as far as you may see decisions).",
    )
    min_score = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label="Score at least this (0 to 1)."
    )

    class Meta:
        model = Suggestion
        fields: list[str] = []
