"""Bulk transfer: the streamed corpus export and the all-or-nothing import (owners only)."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import db_statistics, exports, imports
from ..permissions import Action
from ..replica import read_alias
from ..selectors import corpus_with_access
from ..services import PayloadTooLarge

READ_BYTES = 256 * 1024
# An import body up to this size stays in memory (as large as a chunk the JSONL import reads at
# once: jsonl.BYTES_PER_CHUNK); a larger one goes to a temporary file. Spooling the issue's
# 10 MB file to disk and reading it back took 22 ms, in memory 2.5 ms (bench/README.md).
SPOOL_BYTES = 16 * 1024 * 1024

# Content types the import body may have, and what they suggest it holds: a hint only, the
# content decides (a PDF sent as text/plain is read as a PDF; see imports.sniff).
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
IMPORT_KINDS: dict[str, str | None] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/html": "html",
    "application/pdf": "pdf",
    DOCX_TYPE: "docx",
    "application/octet-stream": None,  # no hint: the content alone says what it is
}


class JsonErrorsOnly(BaseContentNegotiation):
    """`?format=` names the export format here, not a renderer, and the body of a successful
    export is not rendered by DRF at all: errors are always JSON, whatever Accept says."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _error(detail: str, errors: dict | None = None, code: int = 400, **extra) -> Response:
    return Response({"detail": detail, "errors": errors or {}, **extra}, status=code)


class CorpusExportView(APIView):
    content_negotiation_class = JsonErrorsOnly

    @extend_schema(
        operation_id="corpus_export",
        summary="Stream the corpus in one of five formats",
        parameters=[
            OpenApiParameter("format", str, enum=list(exports.FORMATS), default="jsonl"),
            OpenApiParameter("article", str, many=True, description="article id (repeatable)"),
            OpenApiParameter("annotator", str, description="only this user's annotations"),
            OpenApiParameter("status", str, enum=["draft", "submitted"]),
            OpenApiParameter("gold_only", bool, description="only claims a curator accepted"),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME),
            OpenApiParameter(
                "include_suggestions", bool, description="the models' suggestions too (jsonl)"
            ),
        ],
        responses={
            **{
                (200, export_format.content_type.split(";")[0]): OpenApiTypes.BINARY
                for export_format in exports.FORMATS.values()
            },
            400: OpenApiResponse(description="a bad parameter, named in `errors`"),
            403: OpenApiResponse(description="only owners export"),
            404: OpenApiResponse(description="unknown corpus, or not one of yours"),
        },
    )
    def get(self, request, slug: str):
        corpus, access = corpus_with_access(request.user, slug)
        access.ensure(Action.EXPORT)
        try:
            spec = exports.parse_export_params(corpus, request.query_params)
        except ValidationError as error:
            return _error("Invalid export parameters.", error.message_dict)
        spec = exports.ExportSpec(
            corpus=spec.corpus,
            format=spec.format,
            filters=spec.filters,
            base_url=request.build_absolute_uri("/"),
            collection_url=request.build_absolute_uri(),
            using=read_alias(),  # the replica for a heavy read (articles.replica)
        )
        response = StreamingHttpResponse(
            exports.stream(spec), content_type=spec.format.content_type
        )
        response["Content-Disposition"] = f"attachment; filename={spec.filename()}"
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"  # let a proxy pass the stream on as it comes
        return response


class CorpusImportView(APIView):
    content_negotiation_class = JsonErrorsOnly

    @extend_schema(
        operation_id="corpus_import",
        summary="Import native JSONL, a brat zip or one text, HTML, PDF or Word article, all or "
        "nothing; the file's content decides its format",
        parameters=[
            OpenApiParameter(
                "title",
                str,
                description="title of a single article (text, Markdown, HTML, PDF, Word)",
            ),
            OpenApiParameter(
                "background",
                bool,
                description="run the import as a background job: 202 with the job "
                "(GET /api/v1/jobs/{id} follows it)",
            ),
        ],
        request={
            "application/x-ndjson": OpenApiTypes.BINARY,
            "application/zip": OpenApiTypes.BINARY,
            "text/plain": OpenApiTypes.STR,
            "text/markdown": OpenApiTypes.STR,
            "text/html": OpenApiTypes.STR,
            "application/pdf": OpenApiTypes.BINARY,
            DOCX_TYPE: OpenApiTypes.BINARY,
            "application/octet-stream": OpenApiTypes.BINARY,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        responses={
            201: OpenApiResponse(
                inline_serializer(
                    "ImportResult",
                    {
                        **{
                            name: serializers.IntegerField()
                            for name in imports.ImportResult().as_dict()
                        },
                        "article_ids": serializers.ListField(child=serializers.CharField()),
                        "claim_ids": serializers.ListField(child=serializers.CharField()),
                    },
                ),
                description="counts of what was created, and the ids of the new articles and "
                "claims in file order",
            ),
            202: OpenApiResponse(description="background=true: the import job, queued"),
            403: OpenApiResponse(description="only owners import"),
            404: OpenApiResponse(description="unknown corpus, or not one of yours"),
            400: OpenApiResponse(description="every bad line, with its number; nothing written"),
            409: OpenApiResponse(
                description="the corpus changed while importing (a topic or member it names "
                "was removed); nothing written, import again"
            ),
            413: OpenApiResponse(description="over IMPORT_MAX_BYTES or a zip limit"),
            415: OpenApiResponse(
                description="an unsupported content type, or a file that is none of the "
                "formats read (the answer says what it looks like)"
            ),
        },
    )
    def post(self, request, slug: str):
        corpus, access = corpus_with_access(request.user, slug)
        access.ensure(Action.IMPORT)
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        title = request.query_params.get("title")
        limit = settings.IMPORT_MAX_BYTES
        if media_type == "multipart/form-data":
            upload = request._request.FILES.get("file")
            if upload is None:
                return _error("Send the file in a field named `file`.", {"file": ["Required."]})
            if upload.size > limit:
                raise _too_large(upload.size, limit)
            name = upload.name or "upload"
            # The name is a hint; the content decides (415 if it is none of the formats).
            kind = imports.kind_for_name(name) or IMPORT_KINDS.get(
                (upload.content_type or "").split(";")[0].strip().lower()
            )
            return self._import(request, access, kind, name, upload, title)
        if media_type not in IMPORT_KINDS:
            return _error(
                f"Unsupported content type {media_type or '(none)'!r}; send "
                "application/x-ndjson (JSONL), application/zip (brat), text/plain, text/markdown "
                "or text/html (one article, ?title=), application/pdf, "
                f"{DOCX_TYPE} (Word), application/octet-stream (the content decides) or "
                "multipart/form-data with a `file` field.",
                code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        kind = IMPORT_KINDS[media_type]
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:
            # Read the raw stream: request.body would refuse anything over the upload limit
            # for ordinary requests, and would hold the whole body in memory.
            size = 0
            while chunk := request._request.read(READ_BYTES):
                size += len(chunk)
                if size > limit:
                    raise _too_large(size, limit)
                body.write(chunk)
            body.seek(0)
            return self._import(request, access, kind, "", body, title)

    def _import(self, request, access, kind, name, file, title) -> Response:
        if _background(request):
            from ..jobs.services import job_import_start
            from .jobs import present_job

            job = job_import_start(access=access, kind=kind, name=name, file=file, title=title)
            return Response(
                present_job(job, request),
                status=status.HTTP_202_ACCEPTED,
                headers={"Location": reverse("api-job", kwargs={"id": job.pk})},
            )
        # An ImportFailed (every bad line, nothing written) is answered by the exception handler.
        # The planner's statistics are refreshed once the answer is sent (its ids and counts do
        # not depend on them): ANALYZE took 0.05-0.15 s of the request (bench/README.md).
        with db_statistics.after_response() as later:
            result = imports.import_upload(
                actor=request.user,
                corpus=access.corpus,
                role=access.role,
                kind=kind,
                name=name,
                file=file,
                title=title,
            )
        response = Response(
            {**result.as_dict(), **result.created_ids()}, status=status.HTTP_201_CREATED
        )
        later.attach(response)
        return response


def _background(request) -> bool:
    value = request.query_params.get("background", "false").strip().lower()
    if value not in BOOLEAN_WORDS:
        raise ValidationError({"background": ["Must be true or false."]})
    return BOOLEAN_WORDS[value]


BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The upload is over {size:,} bytes; at most {limit:,} bytes can be imported at once."
    )
