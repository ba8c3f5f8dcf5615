"""Reads of suggestions, scoped to the caller.

Every member sees the suggestions themselves (they come from a model, not a colleague); the
decisions on them are people's work, shown through access.Kind.SUGGESTION_DECISION: in a blind
corpus an annotator sees only their own until they submit the article. A suggestion's `state`
is what the caller may see of it: accepted when a visible decision accepts it, rejected when
visible decisions reject it and none accepts, else open.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, CharField, Exists, OuterRef, Prefetch, QuerySet, Value, When

from .access import Access, Kind
from .models import Article, Suggestion, SuggestionDecision, SuggestionState
from .selectors import _fetch_with_access, parse_id


def suggestion_with_access(user, suggestion_id: Any) -> tuple[Suggestion, Access]:
    """A suggestion on a live article of one of the user's corpora (else 404), with their access."""
    suggestion, role = _fetch_with_access(
        user,
        Suggestion.objects.filter(article__deleted_at__isnull=True).select_related(
            "article__corpus", "topic"
        ),
        "article__corpus",
        parse_id(suggestion_id),
        "Suggestion not found.",
    )
    return suggestion, Access(user=user, corpus=suggestion.article.corpus, role=role)


def visible_decisions(access: Access) -> QuerySet[SuggestionDecision]:
    return SuggestionDecision.objects.filter(access.visible(Kind.SUGGESTION_DECISION))


def with_visible_state(access: Access, queryset: QuerySet[Suggestion]) -> QuerySet[Suggestion]:
    """`shown_state` on each suggestion (what the caller may see of it) and `my_state` (the
    caller's own decision, or None), computed in the same query."""
    visible = visible_decisions(access).filter(suggestion=OuterRef("pk"))
    mine = SuggestionDecision.objects.filter(suggestion=OuterRef("pk"), decided_by=access.user)
    return queryset.annotate(
        shown_state=Case(
            When(Exists(visible.filter(state=SuggestionState.ACCEPTED)), then=Value("accepted")),
            When(Exists(visible), then=Value("rejected")),
            default=Value("open"),
            output_field=CharField(),
        ),
        my_state=Case(
            When(Exists(mine.filter(state=SuggestionState.ACCEPTED)), then=Value("accepted")),
            When(Exists(mine), then=Value("rejected")),
            default=Value(None),
            output_field=CharField(null=True),
        ),
    )


def _with_decisions(access: Access, article: Article) -> QuerySet[Suggestion]:
    decisions = visible_decisions(access).select_related("decided_by").order_by("decided_at", "id")
    return (
        Suggestion.objects.filter(article=article)
        .select_related("topic")
        .prefetch_related(Prefetch("decisions", queryset=decisions, to_attr="shown_decisions"))
        .order_by("start", "-end", "id")
    )


def suggestions_for_article(access: Access, article: Article) -> QuerySet[Suggestion]:
    """The article's suggestions in text order, each with the decisions the caller may see
    (`shown_decisions`, with who decided). Three queries however many there are."""
    return with_visible_state(access, _with_decisions(access, article))


def suggestions_for_panel(access: Access, article: Article) -> list[Suggestion]:
    """suggestions_for_article's rows with the same `shown_state` and `my_state`, worked out in
    Python from the decisions the caller may see (their own are always among them) rather than
    by four subqueries per row: the annotation page renders this panel on every view, most
    often for an article with no suggestion (one plain query then)."""
    rows = list(_with_decisions(access, article))
    for row in rows:
        shown = row.shown_decisions  # type: ignore[attr-defined]
        row.shown_state = _decided(shown) or SuggestionState.OPEN.value  # type: ignore[attr-defined]
        row.my_state = _decided(  # type: ignore[attr-defined]
            [d for d in shown if d.decided_by_id == access.user_id]
        )
    return rows


def _decided(decisions: list[SuggestionDecision]) -> str | None:
    """As with_visible_state decides: accepted when one accepts, else rejected when any."""
    if any(d.state == SuggestionState.ACCEPTED for d in decisions):
        return SuggestionState.ACCEPTED.value
    return SuggestionState.REJECTED.value if decisions else None


def suggestion_detail(access: Access, suggestion: Suggestion) -> Suggestion:
    """One suggestion as the list shows it."""
    return suggestions_for_article(access, suggestion.article).get(pk=suggestion.pk)
