"""Reading the annotation page: the page, its partials (the text, the claim list, the claim
panel) and the relation form's search. A partial answers htmx with the fragment and plain
browsers with a redirect to the page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from ... import selectors
from .context import (
    PageRequest,
    base_context,
    list_context,
    page_url,
    rows_for,
    text_context,
    viewer_for,
)
from .forms import FilterForm, RelationSearchForm
from .responses import partial, render_page, render_panel
from .search import relation_search


@login_required
@require_GET
def article_page(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    claim = request.GET.get("claim")
    claim_id = selectors.parse_id(claim) if claim else None
    return render_page(request, article, viewer_for(access, article), claim_id)


@login_required
@require_GET
def article_text(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    if not request.htmx:
        return redirect("article", pk=article.pk)
    viewer = viewer_for(access, article)
    context = base_context(article, viewer) | text_context(article, rows_for(article, viewer))
    return render(request, partial("article-text"), context)


@login_required
@require_GET
def article_claim_list(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    filter_name = FilterForm(request.GET).name
    if not request.htmx:
        return redirect(page_url(article.pk, filter_name=filter_name))
    viewer = viewer_for(access, article)
    rows = rows_for(article, viewer)
    context = base_context(article, viewer) | list_context(viewer, rows, filter_name)
    return render(request, partial("claim-list"), context)


@login_required
@require_GET
def claim_panel(request: PageRequest, pk: int) -> HttpResponse:
    claim, access = selectors.claim_with_access(request.user, pk)
    if not request.htmx:
        return redirect(page_url(claim.article_id, claim_id=claim.pk))
    return render_panel(request, claim.article, viewer_for(access, claim.article), claim.pk)


@login_required
@require_GET
def relation_targets(request: PageRequest, pk: int) -> HttpResponse:
    """The relation form's choices for htmx: the claims whose text holds the typed words
    (`q`), at most search.RELATION_MATCHES of them, or the claim picked in the text (`pick`)."""
    claim, _access = selectors.claim_with_access(request.user, pk)
    if not request.htmx:
        return redirect(page_url(claim.article_id, claim_id=claim.pk))
    search = RelationSearchForm(request.GET).parse()
    context = relation_search(claim.article, claim.pk, query=search["q"], picked=search["pick"])
    return render(request, partial("relation-matches"), context)
