"""Articles, the work assigned on them, and submitting one's work on an article."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from articles import claim_selectors, selectors, services
from articles.access import Access
from articles.filters import ArticleFilterSet, AssignmentFilterSet
from articles.models import Article
from articles.permissions import Action

from . import claim_bodies, documents
from . import serializers as s
from .base import ApiView, etag, named_in_body
from .pagination import CursorPage
from .schema import CONFLICT, ERRORS, STALE

COUNT_PARAMETER = "count"
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


class CountedCursorPage(CursorPage):
    """The cursor page with `count`: the number of articles the list has in all. Unfiltered it
    is the corpus's counter (free); filtered, it is an exact COUNT of the matching articles,
    made only when asked with `?count=true` (else null), or the counters where they hold it
    (`state=submitted` alone, and `state=assigned` alone for a member who sees every
    assignment: ArticleFilterSet.counted)."""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paged = super().get_paginated_response_schema(schema)
        paged["properties"] = {
            "count": {
                "type": "integer",
                "nullable": True,
                "description": "Articles in the whole list (every page): always given when the "
                "list is not filtered; with filters, only with `count=true` (it costs a count "
                "of the matching articles, except `state=submitted` alone, and `state=assigned` "
                "alone for a member who sees every assignment, read from counters), else null.",
            },
            **paged["properties"],
        }
        return paged

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": COUNT_PARAMETER,
                "required": False,
                "in": "query",
                "description": "true: give `count` for a filtered list too (a count of the "
                "matching articles). An unfiltered list always has it.",
                "schema": {"type": "boolean"},
            },
        ]


def _article_body(article: Article, access: Access) -> Any:
    return s.ArticleSerializer(article, context={"access": access}).data


class ArticleListView(ApiView):
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = s.ArticleListItemSerializer
    filterset_class = ArticleFilterSet
    pagination_class = CountedCursorPage
    rows_share = "corpus"

    def get_queryset(self) -> QuerySet:
        return claim_selectors.articles_listed(self.access)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        self.filtered = super().filter_queryset(queryset)
        return self.filtered

    def listed_with_total(self) -> Response:
        """A page of the list, with `count` (CountedCursorPage says when it is given)."""
        wanted = self.request.query_params.get(COUNT_PARAMETER, "").lower()
        if wanted not in _TRUE + _FALSE:
            raise ValidationError({COUNT_PARAMETER: ["count must be true or false."]})
        response = self.list()
        query = self.request.query_params
        if not any(query.get(name) not in (None, "") for name in ArticleFilterSet.base_filters):
            total: int | None = selectors.live_articles_kept(self.parent)
        elif wanted in _TRUE:
            filters = ArticleFilterSet(query, self.filtered, access=self.access)
            total = filters.counted()
            if total is None:
                total = self.filtered.order_by().count()
        else:
            total = None
        response.data = {"count": total, **response.data}
        return response

    def paginate_queryset(self, queryset: QuerySet | Sequence[Any]) -> list[Any]:
        rows = super().paginate_queryset(queryset)
        claim_selectors.attach_article_counts(self.access, rows)  # for this page's rows only
        return rows

    @extend_schema(responses=s.ArticleListItemSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.listed_with_total()

    @extend_schema(
        request=s.ArticleInputSerializer,
        responses={
            201: s.ArticleSerializer,
            **ERRORS,
            413: OpenApiResponse(description="Text too long."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.IMPORT)
        data = self.read(s.ArticleInputSerializer)
        article = services.article_create(actor=self.actor, corpus=corpus, role=access.role, **data)
        article.corpus = corpus
        return self.created(_article_body(article, access), "api-article", id=str(article.pk))


class ArticleDetailView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)

    def present(self, obj: Article, access: Access) -> Any:
        return claim_bodies.article_body(obj, access)

    @extend_schema(
        parameters=[documents.INCLUDE_PARAMETER],
        responses={200: documents.ARTICLE_RESPONSE, 400: ERRORS[400], 404: ERRORS[404]},
    )
    def get(self, request: Request, id: str) -> Response:
        if documents.include_claims(request):
            article, access = self.fetch()
            body = claim_bodies.article_with_claims(article, access)
            return Response(body, headers=etag(article))
        return self.retrieve()

    @extend_schema(
        request=s.ArticleUpdateSerializer, responses={200: s.ArticleSerializer, **ERRORS, **STALE}
    )
    def patch(self, request: Request, id: str) -> Response:
        article, access = self.fetch(Action.MANAGE)
        data = self.read(s.ArticleUpdateSerializer, partial=True)
        updated = self.update(services.article_update, data, article=article, role=access.role)
        updated.corpus = article.corpus
        return self.tagged(updated, access)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request: Request, id: str) -> Response:
        article, access = self.fetch(Action.DELETE_ARTICLE)
        return self.destroy(
            article,
            lambda: services.article_delete(actor=self.actor, article=article, role=access.role),
        )


class SubmitView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)

    @extend_schema(request=None, responses={200: s.AssignmentSerializer, **ERRORS})
    def post(self, request: Request, id: str) -> Response:
        article, access = self.fetch(Action.ANNOTATE)
        assignment = services.article_submit(actor=self.actor, article=article, role=access.role)
        assignment.article = article
        return Response(s.AssignmentSerializer(assignment).data)


class AssignmentListView(ApiView):
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = s.AssignmentSerializer
    filterset_class = AssignmentFilterSet

    def get_queryset(self) -> QuerySet:
        return selectors.assignments_for_corpus(self.access)

    @extend_schema(responses=s.AssignmentSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.list()

    @extend_schema(
        request=s.AssignmentInputSerializer,
        responses={201: s.AssignmentSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.ASSIGN)
        data = self.read(s.AssignmentInputSerializer)
        article = named_in_body(
            selectors.article_with_access,
            request.user,
            data["article"],
            field="article",
            message="No such article in this corpus.",
            within=lambda found: found.corpus_id == corpus.pk,
        )
        assignment = services.assignment_create(
            actor=self.actor, article=article, role=access.role, annotator=data["annotator"]
        )
        return self.created(s.AssignmentSerializer(assignment).data)
