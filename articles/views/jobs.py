"""The corpus's background jobs page: start an export to a file, watch the jobs' progress (the
list refreshes itself while a job is queued or running), download finished files."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import exports
from ..access import Access
from ..forms import PageForm
from ..jobs.selectors import jobs_for_corpus
from ..jobs.services import job_export_start, job_suggest_start, job_summary
from ..models import JobKind, JobStatus
from ..permissions import Action
from .review_common import PageRequest, attempt, corpus_for, corpus_links

JOBS_SHOWN = 50
POLL_SECONDS = 2


class ExportJobForm(PageForm):
    format = forms.ChoiceField(choices=[(name, name) for name in exports.FORMATS])
    gold_only = forms.BooleanField(required=False)


class _ArticleIds(forms.TypedMultipleChoiceField):
    """Any number: the service checks that each is a live article of this corpus."""

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit()


class SuggestJobForm(PageForm):
    articles = _ArticleIds(coerce=int, required=False, choices=())


def _jobs_context(request: PageRequest, access: Access, **extra: Any) -> dict[str, Any]:
    rows = []
    for job in jobs_for_corpus(access)[:JOBS_SHOWN]:
        summary = job_summary(job)
        ready = job.status == JobStatus.DONE and job.file and not summary["expired"]
        summary["download"] = ready and reverse("api-job-download", kwargs={"id": job.pk})
        summary["percent"] = round(summary["progress"] * 100)
        summary["label"] = job.get_kind_display()
        summary["suggestions_url"] = job.kind == JobKind.SUGGEST and reverse(
            "corpus-suggestions", args=[access.corpus.slug]
        )
        rows.append(summary)
    active = any(row["status"] in (JobStatus.QUEUED, JobStatus.RUNNING) for row in rows)
    return {
        "corpus": access.corpus,
        "links": corpus_links(access, "corpus-jobs"),
        "jobs": rows,
        "active": active,
        "poll_seconds": POLL_SECONDS,
        "keep_hours": f"{settings.JOBS_FILE_HOURS:g}",
        "formats": [(name, fmt.extension) for name, fmt in exports.FORMATS.items()],
        "can_export": access.can(Action.EXPORT),
        "form": {},
        "errors": {},
        **extra,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def corpus_jobs(request: PageRequest, slug: str) -> HttpResponse:
    # Curators see their suggest jobs here; the export form is for those who may export.
    _corpus, access = corpus_for(request, slug, Action.REVIEW)
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    template = "articles/jobs.html" + ("#job-list" if partial else "")
    return render(request, template, _jobs_context(request, access))


@login_required
@require_POST
def export_start(request: PageRequest, slug: str) -> HttpResponse:
    _corpus, access = corpus_for(request, slug, Action.EXPORT)
    form = ExportJobForm(request.POST)

    def start(data: dict[str, Any]) -> str:
        params = {"format": data["format"]}
        if data["gold_only"]:
            params["gold_only"] = "true"
        job_export_start(access=access, params=params, base_url=request.build_absolute_uri("/"))
        return f"Export to {data['format']} started; the file appears below when it is ready."

    status = attempt(request, form, start)
    if status is None:
        return redirect("corpus-jobs", slug)
    context = _jobs_context(request, access, form=form.values, errors=form.error_map)
    return render(request, "articles/jobs.html", context, status=status)


@login_required
@require_POST
def suggest_start(request: PageRequest, slug: str) -> HttpResponse:
    """The built-in suggester on every live article (or on the articles ticked in the corpus
    list, sent as `article`), in the background; then the jobs page with its progress."""
    _corpus, access = corpus_for(request, slug, Action.REVIEW)
    form = SuggestJobForm(request.POST)

    def start(data: dict[str, Any]) -> str:
        job_suggest_start(access=access, articles=data["articles"] or None)
        return "Suggesting claims in the background; the progress shows below."

    status = attempt(request, form, start)
    if status is None:
        return redirect("corpus-jobs", slug)
    context = _jobs_context(request, access, errors=form.error_map)
    return render(request, "articles/jobs.html", context, status=status)


urlpatterns = [
    path("corpora/<slug:slug>/jobs/", corpus_jobs, name="corpus-jobs"),
    path("corpora/<slug:slug>/jobs/export/", export_start, name="corpus-export-start"),
    path("corpora/<slug:slug>/jobs/suggest/", suggest_start, name="corpus-suggest-start"),
]
