"""Suggestions: spans a model proposes as claims, accepted or rejected by people (DESIGN.md,
"Suggestions"). Input is checked by services.suggestions' validators, shared with the import, so
that a bad span reads the same everywhere and every bad item is named by its index."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services, suggester, suggestion_selectors
from articles.filters import SuggestionFilterSet
from articles.models import Stance, Suggestion, SuggestionState
from articles.permissions import Action
from articles.suggester import metrics as suggestion_metrics

from .base import ApiView
from .schema import CONFLICT, ERRORS
from .serializers import IdField

# --- Shapes ----------------------------------------------------------------------------------


class SuggestionDecisionSerializer(serializers.Serializer):
    decided_by = serializers.CharField(source="decided_by.username", read_only=True)
    state = serializers.ChoiceField(
        choices=[SuggestionState.ACCEPTED, SuggestionState.REJECTED], read_only=True
    )
    decided_at = serializers.DateTimeField(read_only=True)
    annotation = IdField(source="annotation_id", allow_null=True)


class SuggestionSerializer(serializers.Serializer):
    id = IdField()
    article = IdField(source="article_id")
    start = serializers.IntegerField(read_only=True)
    end = serializers.IntegerField(read_only=True)
    exact = serializers.CharField(read_only=True)
    prefix = serializers.CharField(read_only=True)
    suffix = serializers.CharField(read_only=True)
    model = serializers.CharField(read_only=True)
    topic = IdField(source="topic_id", allow_null=True)
    topic_label = serializers.CharField(source="topic.label", read_only=True, allow_null=True)
    stance = serializers.SerializerMethodField()
    labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    score = serializers.FloatField(read_only=True, allow_null=True)
    state = serializers.ChoiceField(
        choices=SuggestionState.choices,
        source="shown_state",
        read_only=True,
        help_text="accepted when a decision you may see accepts it, rejected when those you "
        "may see reject it, else open (blind mode: only your own until you submit).",
    )
    decided_by = serializers.SerializerMethodField()
    decisions = SuggestionDecisionSerializer(source="shown_decisions", many=True, read_only=True)
    mine = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.ChoiceField(choices=Stance.choices, allow_null=True))
    def get_stance(self, suggestion: Suggestion) -> str | None:
        return suggestion.stance or None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_decided_by(self, suggestion: Suggestion) -> list[str]:
        return [d.decided_by.username for d in suggestion.shown_decisions]  # type: ignore[attr-defined]

    @extend_schema_field(SuggestionDecisionSerializer(allow_null=True))
    def get_mine(self, suggestion: Suggestion) -> dict[str, Any] | None:
        """The caller's own decision (state, annotation), or null."""
        user_id = self.context.get("user_id")
        for decision in suggestion.shown_decisions:  # type: ignore[attr-defined]
            if decision.decided_by_id == user_id:
                return dict(SuggestionDecisionSerializer(decision).data)
        return None


# A plain array (a write's answer), not a page: the views' paginator would otherwise wrap it.
SUGGESTION_ARRAY = {"type": "array", "items": {"$ref": "#/components/schemas/Suggestion"}}


class SuggestionItemSerializer(serializers.Serializer):
    """One suggestion in a request (for the schema: services.suggestions checks it)."""

    start = serializers.IntegerField(required=False)
    end = serializers.IntegerField(required=False)
    exact = serializers.CharField(required=False, trim_whitespace=False)
    prefix = serializers.CharField(required=False, trim_whitespace=False)
    suffix = serializers.CharField(required=False, trim_whitespace=False)
    topic = serializers.CharField(required=False, help_text="A topic's id or label.")
    stance = serializers.ChoiceField(choices=Stance.choices, required=False)
    labels = serializers.ListField(child=serializers.CharField(), required=False)
    score = serializers.FloatField(required=False, min_value=0, max_value=1)


class SuggestionsInputSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="name@version, e.g. stance-llm@2")
    suggestions = SuggestionItemSerializer(many=True)


class AcceptInputSerializer(serializers.Serializer):
    """A correction, optional: the stance and topic the caller's annotation gets instead of the
    suggestion's."""

    stance = serializers.ChoiceField(choices=Stance.choices, required=False)
    topic = serializers.CharField(required=False, help_text="A topic's id or label.")


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return request.data


# --- Views -----------------------------------------------------------------------------------


class SuggestionListView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)
    serializer_class = SuggestionSerializer
    filterset_class = SuggestionFilterSet
    ordering = ("start", "-end", "id")

    def get_queryset(self) -> QuerySet:
        return suggestion_selectors.suggestions_for_article(self.access, self.parent)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "user_id": self.request.user.pk}

    @extend_schema(responses=SuggestionSerializer(many=True))
    def get(self, request: Request, id: str) -> Response:
        return self.list()

    @extend_schema(
        request=SuggestionsInputSerializer,
        responses={201: SUGGESTION_ARRAY, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, id: str) -> Response:
        article, access = self.fetch(Action.REVIEW)
        body = _body(request)
        created = services.suggestions_create(
            access=access,
            article=article,
            model=body.get("model"),
            suggestions=body.get("suggestions"),
        )
        rows = suggestion_selectors.suggestions_for_article(access, article).filter(
            pk__in=[s.pk for s in created]
        )
        context = {"user_id": request.user.pk}
        return self.created(SuggestionSerializer(rows, many=True, context=context).data)


class _DecisionView(ApiView):
    fetcher = staticmethod(suggestion_selectors.suggestion_with_access)

    def answer(self, suggestion: Suggestion, access: Any) -> Response:
        shown = suggestion_selectors.suggestion_detail(access, suggestion)
        context = {"user_id": self.request.user.pk}
        return Response(SuggestionSerializer(shown, context=context).data)


class SuggestionAcceptView(_DecisionView):
    @extend_schema(request=AcceptInputSerializer, responses={200: SuggestionSerializer, **ERRORS})
    def post(self, request: Request, id: str) -> Response:
        suggestion, access = self.fetch(Action.ANNOTATE)
        data = self.read(AcceptInputSerializer)
        services.suggestion_accept(
            access=access, suggestion=suggestion, stance=data.get("stance"), topic=data.get("topic")
        )
        return self.answer(suggestion, access)


class SuggestionRejectView(_DecisionView):
    @extend_schema(request=None, responses={200: SuggestionSerializer, **ERRORS})
    def post(self, request: Request, id: str) -> Response:
        suggestion, access = self.fetch(Action.ANNOTATE)
        services.suggestion_reject(access=access, suggestion=suggestion)
        return self.answer(suggestion, access)


# --- The built-in suggester and the models' metrics -------------------------------------------


class SuggestView(ApiView):
    fetcher = staticmethod(selectors.article_with_access)

    @extend_schema(
        request=None,
        responses={201: SUGGESTION_ARRAY, 200: SUGGESTION_ARRAY, **ERRORS},
        description="Runs the built-in suggester (offline) on the article and answers with its "
        "suggestions there: 201 when it added some, 200 when this version had suggested them "
        "all already.",
    )
    def post(self, request: Request, id: str) -> Response:
        article, access = self.fetch(Action.REVIEW)
        created = services.suggestions_store_builtin(
            access=access,
            article=article,
            model=suggester.MODEL,
            items=suggester.suggest(article),
        )
        rows = suggestion_selectors.suggestions_for_article(access, article).filter(
            model=suggester.MODEL
        )
        body = SuggestionSerializer(rows, many=True, context={"user_id": request.user.pk}).data
        return Response(body, status=201 if created else 200)


class SuggestionMetricsView(ApiView):
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 403: ERRORS[403], 404: ERRORS[404]},
        description="Per model: suggestions by state, and precision and recall of spans and "
        "stances against the claims curators accepted (articles/suggester/metrics.py says how "
        "they are matched); and what the built-in suggester learnt from this corpus, with the "
        "cross-validated accuracy of its stance classifiers.",
    )
    def get(self, request: Request, slug: str) -> Response:
        corpus, _access = self.fetch(Action.REVIEW)
        return Response(suggestion_metrics.report(corpus))
