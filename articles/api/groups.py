"""Claim groups (one claim across the corpus) and similar claims.

`GET, POST /corpora/{slug}/claim-groups`, `GET, PATCH, DELETE /claim-groups/{id}`: every
member reads, curators and owners write; a claim is in at most one group. `GET
/claims/{id}/similar?limit=` ranks claims of the corpus's other articles by similarity of
meaning (stored embeddings: one query and one vector product).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from articles import group_selectors, selectors, services, similarity
from articles.access import Access
from articles.models import ClaimGroup, ClaimGroupMember
from articles.permissions import Action

from . import fields as f
from .base import ApiView
from .schema import CONFLICT, ERRORS, STALE
from .serializers import IdField, VersionedInput

# --- Shapes ----------------------------------------------------------------------------------


class ClaimGroupSerializer(serializers.Serializer):
    id = IdField()
    corpus = serializers.CharField(source="corpus.slug", read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    description = serializers.CharField(read_only=True)
    claims = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)

    def get_claims(self, group: ClaimGroup) -> list[str]:
        """Ids of the group's live claims (prefetched as `live_members` by the views)."""
        return [str(m.claim_id) for m in group.live_members]  # type: ignore[attr-defined]


class ClaimGroupInputSerializer(serializers.Serializer):
    label = f.line(300, blank=False)  # type: ignore[assignment]
    description = f.free_text(5000)
    claims = serializers.ListField(child=serializers.CharField(), required=False, max_length=5000)


class ClaimGroupUpdateSerializer(VersionedInput):
    label = f.line(300, blank=False, required=False)  # type: ignore[assignment]
    description = f.free_text(5000)
    claims = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        max_length=5000,
        help_text="The group's whole list of claims (replaces it).",
    )


class GroupRefSerializer(serializers.Serializer):
    id = IdField()
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]


class SimilarClaimSerializer(serializers.Serializer):
    id = IdField()
    article = IdField(source="article_id")
    article_title = serializers.CharField(source="article.title", read_only=True)
    published_on = serializers.DateField(source="article.published_on", read_only=True)
    start = serializers.IntegerField(read_only=True)
    end = serializers.IntegerField(read_only=True)
    exact = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    group = GroupRefSerializer(read_only=True, allow_null=True, source="group_ref")


class SimilarSerializer(serializers.Serializer):
    claim = SimilarClaimSerializer(read_only=True)
    score = serializers.FloatField(read_only=True, help_text="Cosine similarity, -1 to 1.")


# --- Views -----------------------------------------------------------------------------------


def with_members(queryset: QuerySet[ClaimGroup]) -> QuerySet[ClaimGroup]:
    live = ClaimGroupMember.objects.filter(
        claim__deleted_at__isnull=True, claim__article__deleted_at__isnull=True
    ).order_by("claim_id")
    return queryset.prefetch_related(Prefetch("members", queryset=live, to_attr="live_members"))


class ClaimGroupListView(ApiView):
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = ClaimGroupSerializer
    rows_share = "corpus"

    def get_queryset(self) -> QuerySet:
        return with_members(group_selectors.groups_for_corpus(self.access))

    @extend_schema(responses=ClaimGroupSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.list()

    @extend_schema(
        request=ClaimGroupInputSerializer,
        responses={201: ClaimGroupSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.REVIEW)
        data = self.read(ClaimGroupInputSerializer)
        group = services.group_create(actor=self.actor, corpus=corpus, role=access.role, **data)
        fresh = with_members(ClaimGroup.objects.select_related("corpus", "created_by")).get(
            pk=group.pk
        )
        return self.created(ClaimGroupSerializer(fresh).data, "api-claim-group", id=str(group.pk))


class ClaimGroupDetailView(ApiView):
    fetcher = staticmethod(group_selectors.group_with_access)
    serializer_class = ClaimGroupSerializer

    def current(self) -> tuple[Any, Access]:
        group, access = self.fetch()
        return with_members(ClaimGroup.objects.select_related("corpus", "created_by")).get(
            pk=group.pk
        ), access

    @extend_schema(responses={200: ClaimGroupSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str) -> Response:
        return self.retrieve()

    @extend_schema(
        request=ClaimGroupUpdateSerializer,
        responses={200: ClaimGroupSerializer, **ERRORS, **STALE, **CONFLICT},
    )
    def patch(self, request: Request, id: str) -> Response:
        group, access = self.fetch(Action.REVIEW)
        data = self.read(ClaimGroupUpdateSerializer, partial=True)
        self.update(services.group_update, data, group=group, role=access.role)
        return self.retrieve()

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request: Request, id: str) -> Response:
        group, access = self.fetch(Action.REVIEW)
        return self.destroy(
            group,
            lambda: services.group_delete(actor=self.actor, group=group, role=access.role),
        )


def similar_for(access: Access, claim: Any, limit: int) -> list[dict[str, Any]]:
    """[{"claim", "score"}] best first: the ranking, then the claims' fields in one query."""
    ranked = similarity.similar_claim_ids(access, claim, limit=limit)
    details = group_selectors.similar_details([r.claim_id for r in ranked])
    return [{"claim": details[r.claim_id], "score": r.score} for r in ranked]


def parse_limit(value: str | None) -> int:
    if value in (None, ""):
        return similarity.DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= similarity.MAX_LIMIT:
        raise ValidationError(
            {"limit": [f"limit must be a whole number from 1 to {similarity.MAX_LIMIT}."]}
        )
    return int(value)


class SimilarClaimsView(ApiView):
    fetcher = staticmethod(selectors.claim_with_access)
    pagination_class = None  # type: ignore[assignment]  # a ranked list of at most MAX_LIMIT, not pages

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"How many (1–{similarity.MAX_LIMIT}, default "
                f"{similarity.DEFAULT_LIMIT}).",
            )
        ],
        responses={200: SimilarSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, id: str) -> Response:
        claim, access = self.fetch()
        limit = parse_limit(request.query_params.get("limit"))
        return Response(SimilarSerializer(similar_for(access, claim, limit), many=True).data)
