"""Annotations: one annotator's stance on a claim toward a topic, with its evidence."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services
from articles.access import Access
from articles.filters import AnnotationFilterSet
from articles.models import Annotation
from articles.permissions import Action, can_delete_annotation, can_edit_annotation, ensure_that

from . import serializers as s
from .base import ApiView
from .schema import CONFLICT, ERRORS, STALE


def _with_evidence(user, annotation_id: Any) -> tuple[Annotation, Access]:
    """An annotation as the user may see it, with its evidence (a fixed number of queries)."""
    annotation, access = selectors.annotation_with_access(user, annotation_id)
    return selectors.annotations_prefetch().get(pk=annotation.pk), access


def _replacement(data: dict[str, Any]) -> dict[str, Any]:
    """A PUT's fields: every editable one, those left out at their defaults."""
    defaults: dict[str, Any] = {
        "topic": None,
        "labels": [],
        "confidence": None,
        "note": "",
        "evidence": [],
    }
    return {**defaults, **data}


class AnnotationListView(ApiView):
    fetcher = staticmethod(selectors.claim_with_access)
    serializer_class = s.AnnotationSerializer
    filterset_class = AnnotationFilterSet

    def get_queryset(self) -> QuerySet:
        return selectors.annotations_for_claim(self.access, self.parent)

    @extend_schema(responses=s.AnnotationSerializer(many=True))
    def get(self, request: Request, id: str) -> Response:
        return self.list()

    @extend_schema(
        request=s.AnnotationInputSerializer,
        responses={201: s.AnnotationSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, id: str) -> Response:
        claim, access = self.fetch(Action.ANNOTATE)
        data = self.read(s.AnnotationInputSerializer)
        annotation = services.annotation_create(
            actor=self.actor, claim=claim, role=access.role, **data
        )
        created, _access = _with_evidence(request.user, annotation.pk)
        body = s.AnnotationSerializer(created).data
        return self.created(body, "api-annotation", id=str(annotation.pk))


class AnnotationDetailView(ApiView):
    fetcher = staticmethod(selectors.annotation_with_access)
    serializer_class = s.AnnotationSerializer

    def current(self) -> tuple[Annotation, Access]:
        return _with_evidence(self.request.user, self.kwargs["id"])

    def _edit(self, serializer_class: type, *, partial: bool) -> Response:
        annotation, access = self.fetch()
        ensure_that(
            can_edit_annotation(user=self.request.user, role=access.role, annotation=annotation),
            "Only the annotator who wrote this annotation may change it.",
        )
        data = self.read(serializer_class, partial=partial)
        if not partial:
            data = _replacement(data)
        self.update(services.annotation_update, data, annotation=annotation, role=access.role)
        return self.retrieve()

    @extend_schema(responses={200: s.AnnotationSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str) -> Response:
        return self.retrieve()

    @extend_schema(
        request=s.AnnotationUpdateSerializer,
        responses={200: s.AnnotationSerializer, **ERRORS, **STALE},
    )
    def patch(self, request: Request, id: str) -> Response:
        return self._edit(s.AnnotationUpdateSerializer, partial=True)

    @extend_schema(
        request=s.AnnotationReplaceSerializer,
        responses={200: s.AnnotationSerializer, **ERRORS, **STALE},
    )
    def put(self, request: Request, id: str) -> Response:
        return self._edit(s.AnnotationReplaceSerializer, partial=False)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request: Request, id: str) -> Response:
        annotation, access = self.fetch()
        ensure_that(
            can_delete_annotation(user=request.user, role=access.role, annotation=annotation),
            "Only the annotator who wrote this annotation (or an owner) may delete it.",
        )
        return self.destroy(
            annotation,
            lambda: services.annotation_delete(
                actor=self.actor, annotation=annotation, role=access.role
            ),
        )
