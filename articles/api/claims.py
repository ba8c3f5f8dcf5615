"""Claims: the spans of an article that annotators tag."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from articles import claim_selectors, selectors, services
from articles.access import Access, Kind
from articles.filters import ClaimFilterSet
from articles.models import Claim
from articles.permissions import Action, can_edit_claim, ensure_that

from . import claim_bodies, documents
from . import serializers as s
from .base import ApiView
from .pagination import FirstPage
from .renderers import PlainBody
from .schema import ERRORS, STALE

SPAN_FIELDS = ("start", "end", "exact", "prefix", "suffix")


class ClaimListView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)
    serializer_class = s.ClaimSerializer
    filterset_class = ClaimFilterSet
    ordering = claim_bodies.CLAIMS_ORDER

    def get_queryset(self) -> QuerySet:
        return claim_selectors.claims_listed(self.parent)

    @extend_schema(responses=s.ClaimSerializer(many=True))
    def get(self, request: Request, id: str) -> Response:
        # list() with rows for model instances and claim_bodies for the serializer: same JSON.
        self.parent, self.access = self.fetch()
        visible = claim_bodies.reviews_visible(self.access, self.parent)
        claims: Any = self.filter_queryset(self.get_queryset())
        claims = claims.values(*claim_bodies.claim_columns(visible))
        if set(request.query_params) <= {"page_size"}:  # the first page, unfiltered: prepared
            article_id = int(self.parent.pk)
            claims = FirstPage(
                claims,
                self.ordering,
                lambda limit: claim_bodies.first_claims(
                    article_id, reviews_visible=visible, limit=limit
                ),
            )
        rows = self.paginate_queryset(claims)
        response = self.get_paginated_response(
            claim_bodies.claim_bodies(rows, reviews_visible=visible)
        )
        response.data = PlainBody(response.data)  # the page's links, and rows: see renderers.py
        return response

    @extend_schema(
        request=documents.CLAIMS_REQUEST,
        responses={201: documents.CLAIMS_RESPONSE, **ERRORS},
        description="One claim (an object), or many claims of the article at once (a list, each "
        "item optionally with the caller's `annotation`): all or nothing, errors keyed "
        '`"<index>.<field>"`; a span equal to a live claim\'s reuses that claim.',
    )
    def post(self, request: Request, id: str) -> Response:
        article, access = self.fetch(Action.ANNOTATE)
        if isinstance(request.data, list):
            return self.created(documents.create_many(request, article, access))
        data = self.read(s.ClaimInputSerializer)
        claim = services.claim_create(actor=self.actor, article=article, role=access.role, **data)
        return self.created(s.ClaimSerializer(claim).data, "api-claim", id=str(claim.pk))


class ClaimDetailView(ApiView):
    fetcher = staticmethod(selectors.claim_with_access)

    def present(self, obj: Claim, access: Access) -> Any:
        visible = access.sees_all_on(obj.article, Kind.REVIEW)
        return s.ClaimSerializer(obj, context={"reviews_visible": visible}).data

    def editable(self, verb: str) -> tuple[Claim, Access]:
        claim, access = self.fetch()
        ensure_that(
            can_edit_claim(user=self.request.user, role=access.role, claim=claim),
            f"Only the claim's creator or a curator may {verb} it.",
        )
        return claim, access

    @extend_schema(responses={200: s.ClaimSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str) -> Response:
        return self.retrieve()

    @extend_schema(
        request=s.ClaimUpdateSerializer, responses={200: s.ClaimSerializer, **ERRORS, **STALE}
    )
    def patch(self, request: Request, id: str) -> Response:
        claim, access = self.editable("change")
        data = self.read(s.ClaimUpdateSerializer, partial=True)
        place = {k: data.pop(k) for k in SPAN_FIELDS if k in data}
        if not place:
            self.update(services.claim_update, data, claim=claim, role=access.role)
            return self.retrieve()
        # An orphan placed again (and its summary or labels changed with it): all or nothing.
        if "version" in data:
            place["version"] = data.pop("version")
        with transaction.atomic():
            placed = self.update(services.claim_place, place, claim=claim, role=access.role)
            if data:  # summary, labels
                services.claim_update(
                    actor=self.actor, claim=placed, role=access.role, version=None, **data
                )
        return self.retrieve()

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request: Request, id: str) -> Response:
        claim, access = self.editable("delete")
        return self.destroy(claim, lambda: services.claim_delete(access=access, claim=claim))
