"""Rendering the page and its claim panel: one template (articles/article.html) with named
partials, the panel alone for htmx and the whole page (panel open) for plain browsers."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render

from ...models import Article
from ..versions import text_change_context
from .context import (
    LEGEND,
    PageRequest,
    Viewer,
    base_context,
    list_context,
    panel_context,
    rows_for,
    text_context,
)
from .forms import FilterForm

TEMPLATE = "articles/article.html"


def partial(name: str) -> str:
    """A named partial of the page's template."""
    return f"{TEMPLATE}#{name}"


def render_page(
    request: PageRequest,
    article: Article,
    viewer: Viewer,
    claim_id: int | None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """The whole page: the text, the claim list (filtered as `?filter=` asks) and the panel."""
    rows = rows_for(article, viewer)
    filter_name = FilterForm(request.GET).name
    context = (
        base_context(article, viewer)
        | text_context(article, rows, claim_id)
        | list_context(viewer, rows, filter_name, claim_id)
        | panel_context(article, viewer, claim_id, **extra)
    )
    context["selected_id"] = claim_id
    context["legend"] = LEGEND
    context |= text_change_context(viewer.access, article)
    return render(request, TEMPLATE, context, status=status)


def render_panel(
    request: PageRequest,
    article: Article,
    viewer: Viewer,
    claim_id: int | None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """The panel fragment (htmx) or the whole page with the panel open (plain browsers)."""
    if request.htmx:
        context = base_context(article, viewer) | panel_context(article, viewer, claim_id, **extra)
        return render(request, partial("claim-panel"), context, status=status)
    return render_page(request, article, viewer, claim_id, status=status, **extra)
