"""Corpora, their topics and their members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import F, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from articles import selectors, services
from articles.access import Access
from articles.models import Corpus, Topic
from articles.permissions import Action
from articles.prepared import Prepared, columns, instance

from . import serializers as s
from .base import ApiView
from .pagination import FirstPage
from .schema import CONFLICT, ERRORS, STALE


def _corpus_detail(user, slug: str) -> tuple[Corpus, Access]:
    """The corpus with its counts and topics, as its GET shows it."""
    corpus, access = selectors.corpus_detail_with_access(user, slug)
    # Read by CorpusDetailSerializer's `topics`; not a field of the model.
    corpus.topic_list = list(selectors.topics_for_corpus(corpus))  # type: ignore[attr-defined]
    return corpus, access


# --- Corpora ---------------------------------------------------------------------------------


class CorpusListView(ApiView):
    serializer_class = s.CorpusSerializer
    ordering = ("name", "id")

    def get_queryset(self) -> QuerySet:
        return selectors.corpora_for_user(self.request.user)

    @extend_schema(responses=s.CorpusSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.list()

    @extend_schema(
        request=s.CorpusCreateSerializer,
        responses={201: s.CorpusDetailSerializer, 400: ERRORS[400], **CONFLICT},
    )
    def post(self, request: Request) -> Response:
        corpus = services.corpus_create(actor=self.actor, **self.read(s.CorpusCreateSerializer))
        detail, _access = _corpus_detail(request.user, corpus.slug)
        body = s.CorpusDetailSerializer(detail).data
        return self.created(body, "api-corpus", slug=corpus.slug)


class CorpusDetailView(ApiView):
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = s.CorpusDetailSerializer

    def current(self) -> tuple[Corpus, Access]:
        return _corpus_detail(self.request.user, self.kwargs["slug"])

    @extend_schema(responses={200: s.CorpusDetailSerializer, 404: ERRORS[404]})
    def get(self, request: Request, slug: str) -> Response:
        return self.retrieve()

    @extend_schema(
        request=s.CorpusUpdateSerializer,
        responses={200: s.CorpusDetailSerializer, **ERRORS, **STALE},
    )
    def patch(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.MANAGE)
        data = self.read(s.CorpusUpdateSerializer, partial=True)
        self.update(services.corpus_update, data, corpus=corpus, role=access.role)
        return self.retrieve()

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.MANAGE)
        return self.destroy(
            corpus,
            lambda: services.corpus_delete(actor=self.actor, corpus=corpus, role=access.role),
        )


# --- Topics ----------------------------------------------------------------------------------


TOPICS_ORDER = ("position", "id")
# The topics list's first page (`limit` rows, one more than the page size), by page size
# (pagination.PREPARED_PAGE_SIZES): the ORM compiled it and the server planned it every time.
_FIRST_TOPICS: dict[int, Prepared] = {}


def first_topics(corpus_id: int, limit: int) -> list[Topic]:
    """The corpus's first `limit` topics in the list's order, as `topics_for_corpus` reads them."""
    if limit not in _FIRST_TOPICS:
        _FIRST_TOPICS[limit] = Prepared(
            Topic,
            lambda corpus_id, n=limit: (
                Topic.objects.filter(corpus_id=corpus_id)
                .order_by(*TOPICS_ORDER)
                .values_list(*columns(Topic))[:n]
            ),
            int,
        )
    alias, rows = _FIRST_TOPICS[limit].read(corpus_id)
    return [instance(Topic, alias, row) for row in rows]


class TopicListView(ApiView):
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = s.TopicSerializer
    ordering = TOPICS_ORDER
    rows_share = "corpus"

    def get_queryset(self) -> QuerySet:
        return selectors.topics_for_corpus(self.parent)

    def paginate_queryset(self, queryset: QuerySet | Sequence[Any]) -> list[Any]:
        if set(self.request.query_params) <= {"page_size"}:  # the first page: prepared
            corpus_id = int(self.parent.pk)
            first: Any = FirstPage(queryset, self.ordering, lambda n: first_topics(corpus_id, n))
            return super().paginate_queryset(first)
        return super().paginate_queryset(queryset)

    @extend_schema(responses=s.TopicSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.list()

    @extend_schema(
        request=s.TopicInputSerializer, responses={201: s.TopicSerializer, **ERRORS, **CONFLICT}
    )
    def post(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.MANAGE)
        data = self.read(s.TopicInputSerializer)
        topic = services.topic_create(actor=self.actor, corpus=corpus, role=access.role, **data)
        return self.created(s.TopicSerializer(topic).data, "api-topic", id=str(topic.pk))


class TopicDetailView(ApiView):
    fetcher = staticmethod(selectors.topic_with_access)
    serializer_class = s.TopicSerializer

    @extend_schema(responses={200: s.TopicSerializer, 404: ERRORS[404]})
    def get(self, request: Request, id: str) -> Response:
        return self.retrieve()

    @extend_schema(
        request=s.TopicUpdateSerializer,
        responses={200: s.TopicSerializer, **ERRORS, **CONFLICT, **STALE},
    )
    def patch(self, request: Request, id: str) -> Response:
        topic, access = self.fetch(Action.MANAGE)
        data = self.read(s.TopicUpdateSerializer, partial=True)
        updated = self.update(services.topic_update, data, topic=topic, role=access.role)
        updated.corpus = topic.corpus
        return self.tagged(updated, access)

    @extend_schema(responses={204: None, **ERRORS, **CONFLICT, **STALE})
    def delete(self, request: Request, id: str) -> Response:
        topic, access = self.fetch(Action.MANAGE)
        return self.destroy(
            topic, lambda: services.topic_delete(actor=self.actor, topic=topic, role=access.role)
        )


# --- Members ---------------------------------------------------------------------------------


class MemberListView(ApiView):
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = s.MemberSerializer
    ordering = ("username",)

    def get_queryset(self) -> QuerySet:
        return selectors.members_for_corpus(self.parent).annotate(username=F("user__username"))

    @extend_schema(responses=s.MemberSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.list()

    @extend_schema(
        request=s.MemberInputSerializer,
        responses={201: s.MemberSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, slug: str) -> Response:
        corpus, access = self.fetch(Action.MANAGE)
        data = self.read(s.MemberInputSerializer)
        membership = services.membership_add(
            actor=self.actor,
            corpus=corpus,
            role=access.role,
            username=data["username"],
            new_role=data["role"],
        )
        return self.created(
            s.MemberSerializer(membership).data,
            "api-member",
            slug=corpus.slug,
            username=membership.user.username,
        )


class MemberDetailView(ApiView):
    # A member named by username in the URL; memberships carry no version (no ETag, no 412).
    fetcher = staticmethod(selectors.corpus_with_access)
    lookup_url_kwarg = "slug"
    serializer_class = s.MemberSerializer

    def membership(self, action: Action | None = None):
        corpus, access = self.fetch(action)
        return selectors.membership_get(corpus, self.kwargs["username"]), access

    @extend_schema(responses={200: s.MemberSerializer, 404: ERRORS[404]})
    def get(self, request: Request, slug: str, username: str) -> Response:
        membership, _access = self.membership()
        return Response(s.MemberSerializer(membership).data)

    @extend_schema(request=s.MemberUpdateSerializer, responses={200: s.MemberSerializer, **ERRORS})
    def patch(self, request: Request, slug: str, username: str) -> Response:
        membership, access = self.membership(Action.MANAGE)
        data = self.read(s.MemberUpdateSerializer)
        updated = services.membership_update(
            actor=self.actor, membership=membership, role=access.role, new_role=data["role"]
        )
        return Response(s.MemberSerializer(updated).data)

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, slug: str, username: str) -> Response:
        membership, access = self.membership(Action.MANAGE)
        services.membership_remove(actor=self.actor, membership=membership, role=access.role)
        return Response(status=204)
