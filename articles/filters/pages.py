"""The HTML pages' list filters: the corpus's articles, the review queue, the audit log.

The same mechanism as the API's lists (django-filter FilterSets), with a page's manners: a value a
filter cannot read is dropped with a warning (`warnings`), the other filters still apply and the
list is shown, where the API answers 400. `querystring()` gives the filters in force, to carry
from page to page (pagination, the next claim to review, the tiles of the queue).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from ..access import Access, Kind
from ..models import (
    Annotation,
    Article,
    Assignment,
    AssignmentState,
    AuditEvent,
    Claim,
    Review,
)
from ..review_selectors import QUEUE_STATES
from . import AccessFilterSet, IdFilter, kept_by_counters, seen_submissions

SEARCH_MAX_CHARS = 200

# The corpus page's status filter: (value, label) and which articles each keeps. "My" state is the
# caller's own assignment; the counts of submissions are those of the work the caller may see.
STATUS_FILTERS = [
    ("", "Any status"),
    ("todo", "Not submitted by me"),
    ("mine-submitted", "Submitted by me"),
    ("submitted", "Submitted by someone"),
    ("unsubmitted", "Submitted by no one"),
]

# Each status as (whose submissions count, kept when one exists): "mine" is the caller's own
# submission, "seen" any submission the caller may see. Written as EXISTS, never as a filter on
# the page's counts: the count of a filtered page (and a page of rare matches) would otherwise
# count every article's assignments, one correlated count per article (seconds at 100,000).
STATUS_ARTICLES = {
    "todo": ("mine", False),
    "mine-submitted": ("mine", True),
    "submitted": ("seen", True),
    "unsubmitted": ("seen", False),
}
TICKED = [("1", "yes")]  # a checkbox's value


def _show(value: object) -> str:
    """A given value, quoted and cut short, for a warning."""
    text = str(value)
    return json.dumps(text[:40] + ("…" if len(text) > 40 else ""), ensure_ascii=False)


class PageFilterSet(django_filters.FilterSet):
    """A page's FilterSet: bound to the query string, lenient, and able to write itself back.

    `EXPECTS` says, per filter, what it takes ("an id"), for the warning about a bad value."""

    EXPECTS: ClassVar[dict[str, str]] = {}

    @property
    def values(self) -> dict[str, Any]:
        """Each filter's value in force ("" when not given or ignored), for the filter bar."""
        self.form.is_valid()
        cleaned = getattr(self.form, "cleaned_data", {})
        return {
            name: "" if cleaned.get(name) is None else cleaned[name] for name in self.form.fields
        }

    @property
    def warnings(self) -> list[str]:
        """One sentence per ignored filter."""
        return [
            f"Ignored the {name} filter: {_show(self.data.get(name, ''))} is not "
            f"{self.EXPECTS.get(name, 'a value it takes')}."
            for name in self.errors
        ]

    def querystring(self) -> str:
        """The filters in force as a query string (without "?"), in the filters' order."""
        query = QueryDict(mutable=True)
        for name, value in self.values.items():
            if value != "":
                query[name] = value.isoformat() if isinstance(value, date) else str(value)
        return query.urlencode()


class SearchField(forms.CharField):
    """Words to look for: trimmed, and cut to SEARCH_MAX_CHARS rather than refused."""

    def to_python(self, value: Any) -> str:
        return (super().to_python(value) or "")[:SEARCH_MAX_CHARS]


class SearchFilter(django_filters.CharFilter):
    field_class = SearchField


# --- The corpus page's articles ----------------------------------------------------------------


class CorpusArticleFilterSet(AccessFilterSet, PageFilterSet):
    """The corpus page's list (give `selectors.articles_for_corpus(access)` as the queryset;
    with `has_disagreement` annotated when the caller may see disagreements). The disagreements
    filter exists only for those who see every annotation: for the others it is not there at
    all, neither applied nor carried nor warned about."""

    q = SearchFilter(method="filter_search", label="Words in the title or text.")
    status = django_filters.ChoiceFilter(
        choices=STATUS_FILTERS[1:], method="filter_status", label="Submission status."
    )
    mine = django_filters.ChoiceFilter(
        choices=TICKED, method="filter_mine", label="Assigned to me."
    )
    disagreements = django_filters.ChoiceFilter(
        choices=TICKED, method="filter_disagreements", label="Has disagreements."
    )

    EXPECTS = {
        "status": "one of the statuses listed",
        "mine": "1 (ticked)",
        "disagreements": "1 (ticked)",
        "q": "text",
    }

    class Meta:
        model = Article
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, access: Access, **kwargs):
        super().__init__(data, queryset, access=access, **kwargs)
        if not access.show_disagreements():
            del self.filters["disagreements"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(text__icontains=value))

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        whose, kept = STATUS_ARTICLES[value]
        submitted = Assignment.objects.filter(
            article=OuterRef("pk"), state=AssignmentState.SUBMITTED
        )
        if whose == "mine":
            found = Q(Exists(submitted.filter(annotator=self.access.user)))
        else:
            found = self.access.visible_exists(Kind.ASSIGNMENT, submitted)
        return queryset.filter(found if kept else ~found)

    def filter_mine(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Exists(Assignment.objects.filter(article=OuterRef("pk"), annotator=self.access.user))
        )

    def filter_disagreements(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(has_disagreement=True)

    def counted(self) -> int | None:
        """The number of articles the filtered list holds, from the counters where they hold
        it (None: the page counts the list). A status filter alone, or "assigned to me" alone:
        the caller's own assigned and submitted articles are their MemberCounts, the corpus's
        live articles its CorpusCounts, so "not submitted by me" is the difference. For a
        member who sees every assignment, the articles "submitted by someone" are the corpus's
        `articles_submitted` (the live ones with a submitted assignment), "by no one" the rest.
        The submissions "seen" by a member who does not see every assignment are their own and
        those on the articles they submitted: an article has one exactly when they submitted
        it. Counting the list instead evaluated the filter's EXISTS for every article of the
        corpus (0.1-0.6 s at 100,000)."""
        values = self.values
        status, mine = values.get("status", ""), values.get("mine", "")
        if bool(status) == bool(mine) or any(
            value != "" for name, value in values.items() if name not in ("status", "mine")
        ):
            return None
        if mine:
            return kept_by_counters(self.access, "assigned")
        whose, kept = STATUS_ARTICLES[status]
        field = "submitted" if whose == "mine" else seen_submissions(self.access)
        return kept_by_counters(self.access, field, rest=not kept)


# --- The review queue --------------------------------------------------------------------------


class QueueFilterSet(AccessFilterSet, PageFilterSet):
    """The review queue (give `review_selectors.review_queue(corpus)` as the queryset): claims of
    an article, tagged by an annotator, toward a topic (tagged so, or reviewed so), in a state of
    the queue (QUEUE_STATES)."""

    article = IdFilter(field_name="article_id", label="Article id.")
    annotator = django_filters.CharFilter(
        method="filter_annotator", max_length=150, label="Tagged by this username."
    )
    topic = IdFilter(method="filter_topic", label="Tagged or reviewed toward this topic id.")
    state = django_filters.ChoiceFilter(
        choices=[(state, label) for state, (label, _claims) in QUEUE_STATES.items()],
        method="filter_state",
        label="State in the queue.",
    )

    EXPECTS = {
        "article": "an id",
        "topic": "an id",
        "annotator": "a username",
        "state": "a known state",
    }

    class Meta:
        model = Claim
        fields: list[str] = []

    def filter_annotator(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        tagged = Annotation.objects.filter(
            self.visible(Kind.ANNOTATION), claim=OuterRef("pk"), annotator__username=value
        )
        return queryset.filter(Exists(tagged))

    def filter_topic(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        tagged = Annotation.objects.filter(
            self.visible(Kind.ANNOTATION), claim=OuterRef("pk"), topic_id=value
        )
        reviewed = Review.objects.filter(self.visible(Kind.REVIEW), claim=OuterRef("pk"))
        return queryset.filter(Exists(tagged) | Exists(reviewed.filter(topic_id=value)))

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        _label, claims = QUEUE_STATES[value]
        return queryset.filter(claims)


# --- The audit log -----------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class AuditFilterSet(PageFilterSet):
    """The audit log (give `review_selectors.audit_events(corpus)` as the queryset): by whom, what
    was done, to what kind of object, from and to a day (both included)."""

    actor = django_filters.CharFilter(
        field_name="actor__username", max_length=150, label="Done by this username."
    )
    verb = django_filters.CharFilter(max_length=64, label="What was done, e.g. claim.create.")
    object_type = django_filters.CharFilter(max_length=64, label="To what, e.g. claim.")
    since = django_filters.DateFilter(method="filter_since", label="From this day (YYYY-MM-DD).")
    until = django_filters.DateFilter(method="filter_until", label="To this day (YYYY-MM-DD).")

    EXPECTS = {
        "actor": "a username",
        "verb": "an action",
        "object_type": "a kind of object",
        "since": "a date (YYYY-MM-DD)",
        "until": "a date (YYYY-MM-DD)",
    }

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_since(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(at__gte=_day_start(value))

    def filter_until(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value == date.max:  # the end of time: nothing is later
            return queryset
        return queryset.filter(at__lt=_day_start(value + timedelta(days=1)))
