"""The agreement page: figures, tables and server-drawn SVG pictures, plus a CSV download."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from ..access import Access
from ..agreement import Figure
from ..agreement_data import (
    STANCES,
    CorpusAgreement,
    agreement_corpus,
    corpus_agreement,
    scope_article,
)
from ..models import Article
from . import agreement_charts as charts
from .review_common import team_context


def _figure(figure: Figure, *, percent: bool = False) -> dict[str, Any]:
    return {
        "value": figure.value,
        "text": charts.pct(figure.value) if percent else charts.fmt(figure.value),
        "n": figure.n_items,
        # The statistics module speaks of coders; on this page they are annotators.
        "reason": figure.reason.removeprefix("not enough data: ")
        .replace("coders", "annotators")
        .replace("coder", "annotator"),
        "ok": figure.value is not None,
    }


@login_required
@require_GET
def corpus_agreement_page(request: HttpRequest, slug: str) -> HttpResponse:
    corpus, access = agreement_corpus(request.user, slug)
    try:
        article = scope_article(corpus, request.GET.get("article"))
    except Http404:
        messages.warning(request, "That article is not in this corpus; showing the whole corpus.")
        article = None
    submitted_only = request.GET.get("status") == "submitted"
    data = corpus_agreement(corpus, article=article, submitted_only=submitted_only)
    if request.GET.get("format") == "csv":
        return _csv(data)
    return render(request, "articles/agreement.html", _context(access, data))


def _csv(data: CorpusAgreement) -> HttpResponse:
    name = data.corpus.slug + (f"-article-{data.article.pk}" if data.article else "")
    response = HttpResponse(data.csv_text(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="agreement-{name}.csv"'
    return response


def _context(access: Access, data: CorpusAgreement) -> dict[str, Any]:
    corpus = access.corpus
    report = data.stance
    per_article = [
        {
            "id": article_id,
            "title": data.article_titles.get(article_id, f"Article {article_id}"),
            "href": reverse("corpus-agreement", args=[corpus.slug]) + f"?article={article_id}",
            "alpha": group.krippendorff_alpha,
            "percent": group.percent_agreement,
            "fleiss": group.fleiss_kappa,
            "n_items": group.n_items,
            "spans": data.spans.per_article.get(article_id, {}),
        }
        for article_id, group in report.groups.items()
        # Always true: the stance report's groups are keyed by article id (agreement_data).
        if isinstance(article_id, int)
    ]
    annotators = [
        {
            "name": name,
            "with_others": _figure(report.per_coder[name], percent=True)
            if name in report.per_coder
            else None,
            "stances": [data.stance_counts.get(name, Counter())[s] for s in STANCES],
            "total": sum(data.stance_counts.get(name, Counter()).values()),
        }
        for name in data.annotators
    ]
    confusion = data.confusion
    confusion_rows = [
        {
            "label": label,
            "cells": [
                {"count": count, "agree": i == j, "empty": count == 0}
                for j, count in enumerate(confusion.counts[i])
            ],
        }
        for i, label in enumerate(confusion.labels)
    ]
    pairs = [
        {"a": a, "b": b, **_figure(figure)} for (a, b), figure in report.pairwise_cohen.items()
    ]
    span_pairs = [
        {"a": a, "b": b, "exact": _figure(f["exact"]), "overlap": _figure(f["overlap"])}
        for (a, b), f in data.spans.pairs.items()
    ]
    return {
        **team_context(access, "corpus-agreement"),
        "data": data,
        "scope_article": data.article,
        "articles": list(data.article_titles.items())
        if data.article is None
        else list(
            Article.objects.alive().filter(corpus=corpus).order_by("id").values_list("id", "title")
        ),
        "summary": {
            "alpha": _figure(report.krippendorff_alpha),
            "fleiss": _figure(report.fleiss_kappa),
            "percent": _figure(report.percent_agreement, percent=True),
            "n_items": report.n_items,
            "n_coders": report.n_coders,
        },
        "pairs": pairs,
        "annotators": annotators,
        "stances": STANCES,
        "per_article": per_article,
        "confusion_rows": confusion_rows,
        "confusion": confusion,
        "disagreements": confusion.disagreements(),
        "topic": {
            "alpha": _figure(data.topic.krippendorff_alpha),
            "percent": _figure(data.topic.percent_agreement, percent=True),
            "n_items": data.topic.n_items,
        }
        if data.topic is not None
        else None,
        "span_micro": {
            "exact": _figure(data.spans.micro["exact"]),
            "overlap": _figure(data.spans.micro["overlap"]),
        },
        "span_pairs": span_pairs,
        "heatmap": charts.heatmap(data.annotators, report.pairwise_cohen),
        "article_chart": charts.article_bars(per_article) if data.article is None else None,
        "stance_chart": charts.stance_stacks(data.annotators, data.stance_counts, STANCES),
        "stance_colours": charts.STANCE_COLOURS,
    }


urlpatterns = [
    path("corpora/<slug:slug>/agreement/", corpus_agreement_page, name="corpus-agreement"),
]
