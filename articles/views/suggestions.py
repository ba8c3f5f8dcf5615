"""Suggestions on the annotation page: the panel under the claim list (filtered by model and
score), and the writes: accept (optionally corrected), reject, undo, bulk accept above a score
and its undo. Each form works without JavaScript (post/redirect/get with a flash message); with
htmx, an acceptance opens the claim it tagged in the panel, and every write refreshes the text
and the list (`claims-changed`)."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from .. import selectors, services, suggestion_selectors
from ..access import Access
from ..models import Article, Stance, Suggestion, SuggestionDecision, Topic
from ..permissions import Action
from ..suggester.metrics import report
from .annotate.context import PageRequest, Viewer, page_url
from .annotate.writes import after_write, messages_of
from .review_common import corpus_links

DEFAULT_THRESHOLD = 0.8
SESSION_BATCH = "suggestions-batch-{article}"


class SuggestionPanelForm(forms.Form):
    """The panel's filters (query string): one model, and a lowest score."""

    sg_model = forms.CharField(required=False, max_length=200)
    sg_min = forms.FloatField(required=False, min_value=0, max_value=1)

    def values(self) -> tuple[str, float | None]:
        if not self.is_valid():
            return "", None
        return self.cleaned_data["sg_model"] or "", self.cleaned_data["sg_min"]


class AcceptForm(forms.Form):
    stance = forms.ChoiceField(choices=[("", "as suggested"), *Stance.choices], required=False)
    topic = forms.CharField(required=False, max_length=40)


class BulkForm(forms.Form):
    threshold = forms.FloatField(min_value=0, max_value=1)
    model = forms.CharField(required=False, max_length=200)


@dataclass(frozen=True)
class LastBulk:
    batch: str
    count: int


def panel_context(request: PageRequest, article: Article, viewer: Viewer) -> dict[str, Any]:
    """What the suggestions panel shows: the suggestions (as the caller may see their decisions)
    that pass the filters, the models to filter by, and the caller's last bulk acceptance."""
    access = viewer.access
    model, minimum = SuggestionPanelForm(request.GET).values()
    # One query when the article has none (the page's query count barely moves), three when it
    # has some: the suggestions, the decisions the caller may see, the topics to correct with.
    every = suggestion_selectors.suggestions_for_panel(access, article)
    models = sorted(Counter(s.model for s in every).items())
    shown = [
        s
        for s in every
        if (not model or s.model == model)
        and (minimum is None or (s.score is not None and s.score >= minimum))
    ]
    last = None
    batch = request.session.get(SESSION_BATCH.format(article=article.pk))
    if batch and viewer.can_annotate and every:
        count = SuggestionDecision.objects.filter(
            decided_by=access.user, batch=batch, suggestion__article=article
        ).count()
        last = LastBulk(batch=batch, count=count) if count else None
    return {
        "suggestions": shown,
        "suggestion_models": models,
        "sg_model": model,
        "sg_min": minimum,
        "sg_threshold": minimum if minimum is not None else DEFAULT_THRESHOLD,
        "n_open": len([s for s in shown if getattr(s, "my_state", None) is None]),
        "can_decide": viewer.can_annotate,
        "last_bulk": last,
        "suggestion_topics": (
            list(Topic.objects.filter(corpus=article.corpus_id))
            if shown and viewer.can_annotate
            else []
        ),
        "stances": Stance.choices,
    }


# --- Answers -----------------------------------------------------------------------------------


def _answer(
    request: PageRequest,
    access: Access,
    article: Article,
    message: str,
    claim_id: int | None = None,
) -> HttpResponse:
    if claim_id is not None:
        return after_write(request, access, article, claim_id, message)
    if not request.htmx:
        messages.success(request, message)
        return redirect(page_url(article.pk) + "#suggestions")
    response = HttpResponse("")
    trigger_client_event(response, "saved", {"message": message})
    trigger_client_event(response, "claims-changed", {})
    return response


def _refused(request: PageRequest, article: Article, error: ValidationError) -> HttpResponse:
    """A refused decision: htmx gets 400 with the reason as text (the page's status line shows
    it); plain browsers go back to the page with it as a message."""
    text = " ".join(messages_of(error))
    if not request.htmx:
        messages.error(request, text)
        return redirect(page_url(article.pk) + "#suggestions")
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def _for_decision(request: PageRequest, pk: int) -> tuple[Suggestion, Access]:
    suggestion, access = suggestion_selectors.suggestion_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    return suggestion, access


# --- Writes ----------------------------------------------------------------------------------


@login_required
@require_POST
def suggestion_accept(request: PageRequest, pk: int) -> HttpResponse:
    suggestion, access = _for_decision(request, pk)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        return _refused(request, suggestion.article, ValidationError(form.errors))
    stance, topic = form.cleaned_data["stance"], form.cleaned_data["topic"]
    try:
        decision = services.suggestion_accept(
            access=access, suggestion=suggestion, stance=stance or None, topic=topic or None
        )
    except ValidationError as error:
        return _refused(request, suggestion.article, error)
    annotation = decision.annotation
    claim_id = annotation.claim_id if annotation is not None else None
    done = "Accepted with your correction." if stance else "Accepted."
    return _answer(request, access, suggestion.article, done + " Your tag is saved.", claim_id)


@login_required
@require_POST
def suggestion_reject(request: PageRequest, pk: int) -> HttpResponse:
    suggestion, access = _for_decision(request, pk)
    services.suggestion_reject(access=access, suggestion=suggestion)
    return _answer(request, access, suggestion.article, "Rejected.")


@login_required
@require_POST
def suggestion_undo(request: PageRequest, pk: int) -> HttpResponse:
    suggestion, access = _for_decision(request, pk)
    services.suggestion_undo(access=access, suggestion=suggestion)
    return _answer(request, access, suggestion.article, "Your decision is taken back.")


@login_required
@require_POST
def suggestions_accept_above(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    form = BulkForm(request.POST)
    if not form.is_valid():
        return _refused(request, article, ValidationError(form.errors))
    result = services.suggestions_accept_above(
        access=access,
        article=article,
        threshold=form.cleaned_data["threshold"],
        model=form.cleaned_data["model"] or None,
    )
    if result.accepted:
        request.session[SESSION_BATCH.format(article=article.pk)] = result.batch
    message = f"Accepted {result.accepted} suggestion{'' if result.accepted == 1 else 's'}"
    message += f" scoring {form.cleaned_data['threshold']:g} or more."
    if result.skipped_without_stance:
        message += f" {result.skipped_without_stance} without a stance left open."
    return _answer(request, access, article, message)


@login_required
@require_POST
def suggestions_undo_batch(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    try:
        undone = services.suggestions_undo_batch(
            access=access, article=article, batch=request.POST.get("batch", "")
        )
    except ValidationError as error:
        return _refused(request, article, error)
    request.session.pop(SESSION_BATCH.format(article=article.pk), None)
    return _answer(request, access, article, f"Undone: {undone} acceptances taken back.")


# --- The models' metrics page --------------------------------------------------------------------

CHART_BARS = (
    ("span precision", "spans", "precision"),
    ("span recall", "spans", "recall"),
    ("stance precision", "stances", "precision"),
)
CSV_COLUMNS = (
    "model",
    "articles",
    "open",
    "accepted",
    "rejected",
    "suggestions",
    "gold",
    "span_precision",
    "span_recall",
    "span_f1",
    "exact_precision",
    "exact_recall",
    "stances_compared",
    "stances_correct",
    "stance_precision",
    "stance_recall",
)


def _csv_row(model: dict[str, Any]) -> list[object]:
    spans, stances, states = model["spans"], model["stances"], model["states"]
    return [
        model["model"],
        model["articles"],
        states["open"],
        states["accepted"],
        states["rejected"],
        spans["suggestions"],
        spans["gold"],
        spans["precision"],
        spans["recall"],
        spans["f1"],
        spans["exact_precision"],
        spans["exact_recall"],
        stances["compared"],
        stances["correct"],
        stances["precision"],
        stances["recall"],
    ]


class MetricsForm(forms.Form):
    format = forms.ChoiceField(choices=[("", "page"), ("csv", "CSV")], required=False)


def _chart(models: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars (0–1) per model, laid out for the SVG: 22 px a bar, a gap between models."""
    rows, y = [], 28
    for model in models:
        bars = []
        for label, part, key in CHART_BARS:
            value = model[part][key]
            bars.append(
                {
                    "label": label,
                    "value": value,
                    "width": round(360 * (value or 0), 1),
                    "value_x": round(186 + 360 * (value or 0), 1),
                    "y": y,
                    "text_y": y + 14,
                    "kind": key if part == "spans" else "stance",
                }
            )
            y += 22
        rows.append({"model": model["model"], "bars": bars, "y": bars[0]["y"] - 8})
        y += 26
    return {"rows": rows, "height": y, "ticks": [(t / 4, 180 + 90 * t) for t in range(5)]}


@login_required
@require_GET
def corpus_suggestion_metrics(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = selectors.corpus_with_access(request.user, slug)
    access.ensure(Action.REVIEW)
    body = report(corpus)
    wanted = MetricsForm(request.GET)
    if wanted.is_valid() and wanted.cleaned_data["format"] == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="suggestions-{corpus.slug}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for model in body["models"]:
            writer.writerow(["" if v is None else v for v in _csv_row(model)])
        return response
    return render(
        request,
        "articles/suggestion_metrics.html",
        {
            "corpus": corpus,
            "links": corpus_links(access, "corpus-suggestions"),
            "metrics": body,
            "chart": _chart(body["models"]),
        },
    )


urlpatterns = [
    path(
        "corpora/<slug:slug>/suggestions/",
        corpus_suggestion_metrics,
        name="corpus-suggestions",
    ),
    path("suggestions/<int:pk>/accept", suggestion_accept, name="suggestion-accept"),
    path("suggestions/<int:pk>/reject", suggestion_reject, name="suggestion-reject"),
    path("suggestions/<int:pk>/undo", suggestion_undo, name="suggestion-undo"),
    path(
        "articles/<int:pk>/suggestions/accept",
        suggestions_accept_above,
        name="suggestions-accept-above",
    ),
    path(
        "articles/<int:pk>/suggestions/undo", suggestions_undo_batch, name="suggestions-undo-batch"
    ),
]
