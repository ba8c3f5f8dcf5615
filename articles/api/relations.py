"""Relations between two claims of one article (support, attack, ...)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services
from articles.models import Claim
from articles.permissions import Action, can_delete_relation, ensure_that

from . import serializers as s
from .base import ApiView, named_in_body
from .schema import CONFLICT, ERRORS


class RelationListView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)
    serializer_class = s.RelationSerializer

    def get_queryset(self) -> QuerySet:
        return selectors.relations_for_article(self.access, self.parent)

    @extend_schema(responses=s.RelationSerializer(many=True))
    def get(self, request: Request, id: str) -> Response:
        return self.list()

    @extend_schema(
        request=s.RelationInputSerializer,
        responses={201: s.RelationSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, id: str) -> Response:
        article, access = self.fetch(Action.ANNOTATE)
        data = self.read(s.RelationInputSerializer)

        def claim_in_article(field: str) -> Claim:
            return named_in_body(
                selectors.claim_with_access,
                request.user,
                data[field],
                field=field,
                message=f"No claim {data[field]!s:.40} in this article.",
                within=lambda claim: claim.article_id == article.pk,
            )

        relation = services.relation_create(
            actor=self.actor,
            source=claim_in_article("source"),
            target=claim_in_article("target"),
            role=access.role,
            kind=data["kind"],
        )
        return self.created(
            s.RelationSerializer(relation).data, "api-relation", id=str(relation.pk)
        )


class RelationDetailView(ApiView):
    # Relations carry no version: no ETag, and a delete needs none.
    fetcher = staticmethod(selectors.relation_with_access)
    serializer_class = s.RelationSerializer

    @extend_schema(responses={200: s.RelationSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str) -> Response:
        return Response(self.present(*self.fetch()))

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, id: str) -> Response:
        relation, access = self.fetch()
        ensure_that(
            can_delete_relation(user=request.user, role=access.role, relation=relation),
            "Only the relation's creator or a curator may delete it.",
        )
        services.relation_delete(actor=self.actor, relation=relation, role=access.role)
        return Response(status=204)
