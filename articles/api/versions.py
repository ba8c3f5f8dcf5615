"""Articles that change: a new version of the text (PUT …/text), the versions, the orphans."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services, version_selectors
from articles.access import Access
from articles.models import Article, ArticleVersion
from articles.permissions import Action

from . import serializers as s
from .base import ApiView, etag, required_version
from .schema import ERRORS, STALE

# --- Serializers (this resource's own) -------------------------------------------------------


class TextInputSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="What changed, for the record."
    )
    version = serializers.IntegerField(
        required=False, min_value=0, help_text="The article's version (or send it as If-Match)."
    )


class StatusCountsSerializer(serializers.Serializer):
    kept = serializers.IntegerField(help_text="Same words, same place.")
    moved = serializers.IntegerField(help_text="Same words, another place.")
    fuzzy = serializers.IntegerField(help_text="Placed on similar words (they are its new exact).")
    orphaned = serializers.IntegerField(help_text="No place in the new text.")


class TextChangeSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The number of the new text version.")
    article_version = serializers.IntegerField(help_text="The article's new ETag version.")
    text_sha256 = serializers.CharField()
    claims = StatusCountsSerializer()
    evidence = StatusCountsSerializer()


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="number", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.SerializerMethodField()
    note = serializers.CharField(read_only=True)
    text_sha256 = serializers.CharField(read_only=True)
    outcome = serializers.JSONField(
        read_only=True, help_text="What re-anchoring did when this version came (empty for v1)."
    )

    def get_created_by(self, version: ArticleVersion) -> str | None:
        user = version.created_by if version.created_by_id else None
        return user.get_username() if user is not None else None


class VersionDetailSerializer(VersionSerializer):
    text = serializers.CharField(read_only=True)


class OrphanEvidenceSerializer(s.EvidenceSerializer):
    annotation = s.IdField(source="annotation_id")
    claim = s.IdField(source="annotation.claim_id")


class OrphansSerializer(serializers.Serializer):
    claims = s.ClaimSerializer(many=True)
    evidence = OrphanEvidenceSerializer(many=True)


# --- Views -----------------------------------------------------------------------------------


class ArticleTextView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)

    def present(self, obj: Article, access: Access) -> Any:
        return s.ArticleSerializer(obj, context={"access": access}).data

    @extend_schema(
        request=TextInputSerializer, responses={200: TextChangeSerializer, **ERRORS, **STALE}
    )
    def put(self, request: Request, id: str) -> Response:
        """Store a new version of the article's text (owners, curators) and re-anchor every claim
        and evidence span on it. Send the article's version as If-Match (412 when stale, 428
        when missing)."""
        article, access = self.fetch(Action.EDIT_TEXT)
        data = self.read(TextInputSerializer)
        version = required_version(request, data)
        change = services.article_text_replace(
            actor=self.actor,
            article=article,
            role=access.role,
            text=data["text"],
            note=data.get("note", ""),
            version=version,
        )
        body = {
            "version": change.version.number,
            "article_version": change.article.version,
            "text_sha256": change.article.text_sha256,
            **change.counts(),
        }
        return Response(body, headers=etag(change.article))


class VersionPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="Always null: one page holds all.")
    previous = serializers.CharField(allow_null=True)
    results = VersionSerializer(many=True)


class VersionListView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)
    pagination_class = None  # type: ignore[assignment]  # one page: as many versions as edits

    @extend_schema(
        operation_id="articles_versions_list",
        responses={200: VersionPageSerializer, 404: ERRORS[404]},
    )
    def get(self, request: Request, id: str) -> Response:
        """Every version of the article's text, oldest first (without the texts), in the shape
        of every list, on one page."""
        article, _access = self.fetch()
        versions = version_selectors.versions_for_article(article)
        results = VersionSerializer(versions, many=True).data
        return Response({"next": None, "previous": None, "results": results})


class VersionDetailView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)

    @extend_schema(responses={200: VersionDetailSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str, number: str) -> Response:
        """One version with its text."""
        article, _access = self.fetch()
        version = version_selectors.version_of_article(article, number)
        return Response(VersionDetailSerializer(version).data)


class OrphansView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)

    @extend_schema(responses={200: OrphansSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str) -> Response:
        """The claims and evidence spans the last text changes could not place: their old quote
        and context, no offsets. Place a claim again with PATCH /claims/{id} {start, end}."""
        article, access = self.fetch()
        body = {
            "claims": s.ClaimSerializer(version_selectors.orphaned_claims(article), many=True).data,
            "evidence": OrphanEvidenceSerializer(
                version_selectors.orphaned_evidence(access, article), many=True
            ).data,
        }
        return Response(body)
