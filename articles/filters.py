"""FilterSets shared by the HTML lists and the API lists.

Every filter is optional and unknown parameters are ignored; a bad value makes the FilterSet
invalid with the parameter named in `errors` (the API answers 400). Ids are opaque strings to
clients, so id filters accept only what an id of ours can look like (never a number the database
would overflow on). Ordering is never taken from the client: each list fixes its own.
"""

from __future__ import annotations

import re
from datetime import UTC

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_filters.fields import IsoDateTimeField

from .access import Access, Kind
from .models import (
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Review,
    ReviewDecision,
    Stance,
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
