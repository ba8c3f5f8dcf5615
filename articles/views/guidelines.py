"""A corpus's annotation guidelines: every member reads them (the page, and the drawer of the
annotation page, which htmx fills with this page's `guidelines-body` partial); owners edit
them in Markdown on the same page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from .. import selectors, services
from ..access import Access
from ..forms import GuidelinesForm
from ..guidelines import render_guidelines
from ..permissions import Action
from .review_common import PageRequest, attempt, team_context

TEMPLATE = "articles/guidelines.html"


def _context(access: Access, form: GuidelinesForm | None = None) -> dict[str, Any]:
    guidelines = selectors.guidelines_for(access.corpus)
    return {
        **team_context(access, "corpus-guidelines"),
        "guidelines": guidelines,
        "html": render_guidelines(guidelines.text),
        "can_edit": access.can(Action.MANAGE),
        "text": form.values["text"] if form is not None else guidelines.text,
        "errors": form.error_map if form is not None else {},
    }


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def corpus_guidelines(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = selectors.corpus_with_access(request.user, slug)
    if request.method == "GET":
        partial = bool(request.htmx) and not request.htmx.history_restore_request
        return render(request, TEMPLATE + ("#guidelines-body" if partial else ""), _context(access))
    access.ensure(Action.MANAGE)
    form = GuidelinesForm(request.POST)

    def save(data: dict[str, Any]) -> str:
        services.guidelines_update(access=access, text=data["text"], version=data["version"])
        return "Saved the guidelines."

    status = attempt(request, form, save)
    if status is None:
        return redirect("corpus-guidelines", corpus.slug)
    return render(request, TEMPLATE, _context(access, form), status=status)


urlpatterns = [
    path("corpora/<slug:slug>/guidelines/", corpus_guidelines, name="corpus-guidelines"),
]
