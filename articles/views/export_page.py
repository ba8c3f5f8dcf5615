"""The corpus page's export menu: a form with the export's filters (format, gold only, status,
annotator, articles). Its empty choices ("any") are left out here, the rest is checked with the
export's own rules, and the browser is sent to the API's streaming export with exactly those
parameters (the API refuses an empty value, so the form cannot point at it directly)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from ..exports.params import parse_export_params
from ..permissions import Action
from .review_common import PageRequest, corpus_for


@login_required
@require_GET
def corpus_export(request: PageRequest, slug: str) -> HttpResponse:
    corpus, _access = corpus_for(request, slug, Action.EXPORT)
    given = {
        name: kept
        for name in request.GET
        if (kept := [value for value in request.GET.getlist(name) if value.strip()])
    }
    try:
        parse_export_params(corpus, given)
    except ValidationError as error:
        problems = "; ".join(f"{name}: {' '.join(m)}" for name, m in error.message_dict.items())
        context = {
            "status": 400,
            "title": "Nothing exported",
            "message": f"The export's choices were not understood ({problems}).",
            "back": reverse("corpus", args=[corpus.slug]),
        }
        return render(request, "error.html", context, status=400)
    url = reverse("api-corpus-export", args=[corpus.slug])
    return redirect(f"{url}?{urlencode(given, doseq=True)}" if given else url)


urlpatterns = [path("corpora/<slug:slug>/export/", corpus_export, name="corpus-export")]
