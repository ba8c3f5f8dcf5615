"""Background jobs in the API: start an export to a file, follow a job, download its file.

    POST /api/v1/corpora/{slug}/exports   {"format", filters...}  -> 202 the job
    POST /api/v1/corpora/{slug}/suggest   {"articles": [ids]?}    -> 202 the job (built-in
                                          suggester on every live article, or on those)
    GET  /api/v1/corpora/{slug}/jobs      the jobs of the corpus I see (mine; all for owners)
    GET  /api/v1/jobs/{id}                status, progress, error, and `download` once done
    GET  /api/v1/jobs/{id}/download       the file, streamed (409 before done, 410 expired)

`POST /api/v1/corpora/{slug}/import?background=true` starts an import job (api/transfer.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .. import exports
from ..jobs.selectors import job_with_access, jobs_for_corpus
from ..jobs.services import job_export_start, job_suggest_start, job_summary
from ..models import Job, JobKind, JobStatus
from ..permissions import Action
from ..selectors import corpus_with_access
from .base import ApiView
from .schema import ERRORS


class ExportJobInput(serializers.Serializer):
    """An export's format and filters, as the streaming export takes them in its query string
    (the export's FilterSet checks the values, naming each bad one)."""

    format = serializers.ChoiceField(choices=list(exports.FORMATS), default="jsonl")
    article = serializers.ListField(child=serializers.CharField(), required=False)
    annotator = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    gold_only = serializers.BooleanField(required=False)
    updated_since = serializers.CharField(required=False)


class JobSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=JobKind.choices)
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = serializers.FloatField(min_value=0, max_value=1)
    error = serializers.CharField(allow_blank=True)
    format = serializers.CharField(allow_null=True)
    result = serializers.DictField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="an import's counts; a suggest job's articles and suggestions (created)",
    )
    filename = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    expired = serializers.BooleanField()
    url = serializers.CharField()
    download = serializers.CharField(allow_null=True)


def present_job(job: Job, request: Request | Any) -> dict[str, Any]:
    summary = job_summary(job)
    summary["url"] = request.build_absolute_uri(reverse("api-job", kwargs={"id": job.pk}))
    ready = job.status == JobStatus.DONE and job.file and not summary["expired"]
    summary["download"] = (
        request.build_absolute_uri(reverse("api-job-download", kwargs={"id": job.pk}))
        if ready
        else None
    )
    return JobSerializer(summary).data


class ExportJobListView(ApiView):
    fetcher = staticmethod(corpus_with_access)
    lookup_url_kwarg = "slug"

    @extend_schema(
        operation_id="corpus_export_job_start",
        summary="Export the corpus to a file in the background",
        request=ExportJobInput,
        responses={202: JobSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        _corpus, access = self.fetch(Action.EXPORT)
        data = self.read(ExportJobInput)
        job = job_export_start(access=access, params=data, base_url=request.build_absolute_uri("/"))
        job = Job.objects.select_related("created_by").get(pk=job.pk)
        return Response(
            present_job(job, request),
            status=202,
            headers={"Location": reverse("api-job", kwargs={"id": job.pk})},
        )


class SuggestJobInput(serializers.Serializer):
    articles = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10000,
        help_text="ids of live articles of the corpus; every live article when left out",
    )


class SuggestJobStartView(ApiView):
    fetcher = staticmethod(corpus_with_access)
    lookup_url_kwarg = "slug"

    @extend_schema(
        operation_id="corpus_suggest_job_start",
        summary="Run the built-in suggester on many articles in the background",
        description="Queues a job (kind `suggest`) that runs the built-in suggester on each live "
        "article in turn (or on `articles`), with progress per article. Idempotent: a run adds "
        "only the suggestions this suggester's version had not made there. Its `result` counts "
        "`articles` and `suggestions` created. Curators and owners.",
        request=SuggestJobInput,
        responses={202: JobSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        _corpus, access = self.fetch(Action.REVIEW)
        data = self.read(SuggestJobInput)
        job = job_suggest_start(access=access, articles=data.get("articles"))
        job = Job.objects.select_related("created_by").get(pk=job.pk)
        return Response(
            present_job(job, request),
            status=202,
            headers={"Location": reverse("api-job", kwargs={"id": job.pk})},
        )


class JobListView(ApiView):
    fetcher = staticmethod(corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = JobSerializer
    ordering = ("-created_at", "-id")

    def get_queryset(self) -> QuerySet[Job]:
        return jobs_for_corpus(self.access)

    @extend_schema(
        operation_id="corpus_jobs",
        summary="The corpus's background jobs that I see (mine; every one for owners)",
        responses=JobSerializer(many=True),
    )
    def get(self, request: Request, slug: str) -> Response:
        self.parent, self.access = self.fetch()
        rows = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([present_job(job, request) for job in rows])


class JobDetailView(ApiView):
    fetcher = staticmethod(job_with_access)

    @extend_schema(
        operation_id="job",
        summary="A background job: status, progress, error, and its download once done",
        responses={200: JobSerializer, 404: ERRORS[404]},
    )
    def get(self, request: Request, id: str) -> Response:
        job, _access = self.fetch()
        return Response(present_job(job, request))


class JobDownloadView(ApiView):
    fetcher = staticmethod(job_with_access)

    @extend_schema(
        operation_id="job_download",
        summary="The file a finished export job wrote, streamed",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: ERRORS[404],
            409: OpenApiResponse(description="the job has not finished (or failed)"),
            410: OpenApiResponse(description="the file expired and was removed"),
        },
    )
    def get(self, request: Request, id: str) -> Response | FileResponse:
        job, _access = self.fetch()
        summary = job_summary(job)
        if job.status != JobStatus.DONE or job.kind != JobKind.EXPORT:
            return Response(
                {"detail": f"The job is {job.status}; there is no file to download.", "errors": {}},
                status=409,
            )
        if summary["expired"] or not job.file:
            return Response(
                {"detail": "The file expired and was removed; export again.", "errors": {}},
                status=410,
            )
        response = FileResponse(
            job.file.storage.open(job.file.name, "rb"),
            as_attachment=True,
            filename=job.filename,
            content_type=job.content_type or "application/octet-stream",
        )
        response["Cache-Control"] = "no-store"
        return response
