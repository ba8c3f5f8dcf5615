"""A curator's review of a claim, and the comment thread on a claim."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services
from articles.access import Access
from articles.models import Claim, Review
from articles.permissions import Action

from . import serializers as s
from .base import ApiView, client_version, required_version
from .schema import ERRORS, STALE


def _review_of(claim: Claim, access: Access) -> Review:
    review = selectors.review_for_claim(access, claim)
    if review is None:
        raise Http404("This claim has no review (or you may not see it yet).")
    return review


class ReviewView(ApiView):
    # The URL names the claim; the object read and written is its review.
    fetcher = staticmethod(selectors.claim_with_access)
    serializer_class = s.ReviewSerializer

    def current(self) -> tuple[Review, Access]:
        claim, access = self.fetch()
        return _review_of(claim, access), access

    @extend_schema(responses={200: s.ReviewSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str) -> Response:
        return self.retrieve()

    @extend_schema(
        request=s.ReviewInputSerializer,
        responses={200: s.ReviewSerializer, 201: s.ReviewSerializer, **ERRORS, **STALE},
    )
    def put(self, request: Request, id: str) -> Response:
        claim, access = self.fetch(Action.REVIEW)
        data = self.read(s.ReviewInputSerializer)
        existed = selectors.review_for_claim(access, claim) is not None
        # The first decision creates the review; changing one must name the version it changes.
        version = required_version(request, data) if existed else client_version(request, data)
        services.review_set(
            actor=self.actor, claim=claim, role=access.role, version=version, **data
        )
        return self.tagged(_review_of(claim, access), access, status=200 if existed else 201)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request: Request, id: str) -> Response:
        claim, access = self.fetch(Action.REVIEW)
        review = _review_of(claim, access)
        return self.destroy(
            review,
            lambda: services.review_delete(actor=self.actor, review=review, role=access.role),
        )


class CommentListView(ApiView):
    fetcher = staticmethod(selectors.claim_with_access)
    serializer_class = s.CommentSerializer

    def get_queryset(self) -> QuerySet:
        return selectors.comments_for_claim(self.access, self.parent)

    @extend_schema(responses=s.CommentSerializer(many=True))
    def get(self, request: Request, id: str) -> Response:
        return self.list()

    @extend_schema(request=s.CommentInputSerializer, responses={201: s.CommentSerializer, **ERRORS})
    def post(self, request: Request, id: str) -> Response:
        claim, access = self.fetch(Action.ANNOTATE)
        data: dict[str, Any] = self.read(s.CommentInputSerializer)
        comment = services.comment_create(
            actor=self.actor, claim=claim, role=access.role, text=data["text"]
        )
        return self.created(s.CommentSerializer(comment).data)
