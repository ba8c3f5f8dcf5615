"""A corpus's annotation guidelines (Markdown), with their rendered, sanitised HTML."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services
from articles.access import Access
from articles.guidelines import MAX_GUIDELINES_CHARS, render_guidelines
from articles.permissions import Action

from .base import ApiView, client_version, required_version
from .schema import ERRORS, STALE
from .serializers import VersionedInput


class GuidelinesSerializer(serializers.Serializer):
    text = serializers.CharField(read_only=True, help_text="Markdown, as the owners wrote it.")
    html = serializers.SerializerMethodField(help_text="The Markdown rendered and sanitised.")
    version = serializers.IntegerField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by = serializers.CharField(
        source="updated_by.username", read_only=True, allow_null=True, default=None
    )

    def get_html(self, guidelines: Any) -> str:
        return str(render_guidelines(guidelines.text))


class GuidelinesInputSerializer(VersionedInput):
    text = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=MAX_GUIDELINES_CHARS
    )


class GuidelinesView(ApiView):
    """The corpus's annotation guidelines: members read them, owners replace them (PUT, with
    the version they read, as If-Match or `version`; the first guidelines need none)."""

    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"

    def current(self) -> tuple[Any, Access]:
        corpus, access = self.fetch()
        return selectors.guidelines_for(corpus), access

    def present(self, obj: Any, access: Access) -> Any:
        return GuidelinesSerializer(obj).data

    @extend_schema(responses={200: GuidelinesSerializer, 404: ERRORS[404]})
    def get(self, request: Request, slug: str) -> Response:
        return self.retrieve()

    @extend_schema(
        request=GuidelinesInputSerializer,
        responses={200: GuidelinesSerializer, **ERRORS, **STALE},
    )
    def put(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.MANAGE)
        data = self.read(GuidelinesInputSerializer)
        # Like every PUT of an existing object, replacing guidelines names the version it
        # edits (428 otherwise); the first guidelines of a corpus overwrite nothing.
        written = not selectors.guidelines_for(corpus)._state.adding
        version = required_version(request, data) if written else client_version(request, data)
        updated = services.guidelines_update(access=access, text=data["text"], version=version)
        return self.tagged(updated, access)
