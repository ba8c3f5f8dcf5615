"""The public REST API v1 (DESIGN.md, "Public REST API"): corpora, topics, members, articles,
claims, annotations, relations, reviews, comments, assignments, submit, and API tokens.

Each view: fetch with permission (selectors: 404 for non-members), check the role (403), shape the
input (serializers), call a service (every write), shape the output. Errors are rendered by
exceptions.api_exception_handler. Paths take no trailing slash; one is accepted, never required,
and nothing redirects (a POST would lose its body).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db.models import F, QuerySet
from django.http import Http404
from django.urls import re_path, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    NotAuthenticated,
    Throttled,
    ValidationError,
)
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from articles import selectors, services
from articles.access import Kind
from articles.filters import (
    AnnotationFilterSet,
    ArticleFilterSet,
    AssignmentFilterSet,
    ClaimFilterSet,
)
from articles.models import ApiToken
from articles.permissions import (
    Action,
    can_delete_annotation,
    can_delete_relation,
    can_edit_annotation,
    can_edit_claim,
    ensure_that,
)

from . import serializers as s
from .auth import TokenAuthentication
from .pagination import CursorPage
from .schema import filter_parameters

ERRORS = {
    400: OpenApiResponse(description="Invalid input; `errors` names each bad field."),
    403: OpenApiResponse(description="Your role in the corpus does not allow this."),
    404: OpenApiResponse(description="Unknown, or not in one of your corpora."),
}
STALE = {
    412: OpenApiResponse(description="Stale version; `current` holds the object as it is."),
    428: OpenApiResponse(description="No version given: send If-Match or `version`."),
}
CONFLICT = {409: OpenApiResponse(description="It exists already.")}


# --- helpers ---------------------------------------------------------------------------------


def _input(serializer_class, request, *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _version(request, data: dict[str, Any]) -> int | None:
    """The version the client edited: `If-Match` (quoted, weak or bare) or `version` in the body."""
    body_version = data.pop("version", None)
    header = request.headers.get("If-Match")
    if header is None or header.strip() in ("", "*"):
        return body_version
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise ValidationError({"If-Match": ['If-Match must be the ETag you were given, e.g. "3".']})
    return int(value)


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = (
        'Say which version you are changing: send If-Match with the ETag you read (e.g. "3") '
        "or `version` in the body. A stale version gets 412, so nobody's change is overwritten "
        "unseen."
    )
    default_code = "precondition_required"


def _required_version(request, data: dict[str, Any]) -> int | None:
    """Updates must say which version they edit, so that none overwrites a change unseen."""
    version = _version(request, data)
    if version is None:
        if request.headers.get("If-Match", "").strip() == "*":
            return None  # HTTP's "whatever the current version is": an explicit overwrite
        raise PreconditionRequired()
    return version


def _versioned_update(request, update, data: dict[str, Any], **target):
    """`update(...)` with the version the client edited, which it must name (428 otherwise)."""
    version = _required_version(request, data)
    return update(actor=request.user, version=version, **target, **data)


def _versioned_delete(request, obj, delete, **target) -> Response:
    """`delete(...)` of `obj`, once the version the client names, if any, is its current one."""
    services.check_version(obj, _version(request, _input(s.VersionedInput, request)))
    delete(actor=request.user, **target)
    return Response(status=status.HTTP_204_NO_CONTENT)


def _filtered(filterset_class, request, queryset: QuerySet, **kwargs) -> QuerySet:
    filterset = filterset_class(request.query_params, queryset=queryset, request=request, **kwargs)
    if not filterset.is_valid():
        raise ValidationError({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs


def _page(view, queryset: QuerySet, serializer_class, *, ordering, context=None, attach=None):
    """One page of `queryset` in the view's fixed `ordering`; `attach` sets a related object
    every row shares (e.g. the corpus) so that serialising it costs no query per row."""
    paginator = CursorPage(ordering)
    rows = paginator.paginate_queryset(queryset, view.request, view)
    for row in rows:
        for name, value in (attach or {}).items():
            setattr(row, name, value)
    data = serializer_class(rows, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


def _tagged(response: Response, obj) -> Response:
    response["ETag"] = f'"{obj.version}"'
    return response


def _created(data, url_name: str, **kwargs) -> Response:
    return Response(
        data, status=status.HTTP_201_CREATED, headers={"Location": reverse(url_name, kwargs=kwargs)}
    )


def _claim_in(article, claim_id: Any, field: str, user):
    """A claim named in a request body: it must be a live claim of `article`."""
    try:
        claim, _access = selectors.claim_with_access(user, claim_id)
    except Http404:
        claim = None
    if claim is None or claim.article_id != article.pk:
        raise ValidationError({field: [f"No claim {claim_id!s:.40} in this article."]})
    return claim


def _corpus_detail(user, slug: str):
    corpus, _access = selectors.corpus_detail_with_access(user, slug)
    corpus.topic_list = list(selectors.topics_for_corpus(corpus))
    return corpus


# --- Tokens ----------------------------------------------------------------------------------


def _presented_token(request) -> ApiToken:
    if not isinstance(request.auth, ApiToken):
        raise NotAuthenticated("Present the token to revoke: Authorization: Token <key>.")
    return request.auth


class TokenView(APIView):
    """Trade a username and password for an API token; revoke the token you present."""

    throttle_scope = "token"

    def _method(self) -> str | None:
        return getattr(getattr(self, "request", None), "method", None)

    def get_authenticators(self):
        return [] if self._method() == "POST" else [TokenAuthentication()]

    def get_permissions(self):
        return [AllowAny()] if self._method() == "POST" else super().get_permissions()

    def get_authenticate_header(self, request):
        return "Token"  # a wrong password is a 401 (with this header), not a 403

    def get_throttles(self):
        return [ScopedRateThrottle()] if self._method() == "POST" else super().get_throttles()

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={
            201: s.TokenSerializer,
            400: ERRORS[400],
            401: OpenApiResponse(description="Wrong username or password."),
            429: OpenApiResponse(description="Too many attempts."),
        },
        auth=[],
    )
    def post(self, request):
        data = _input(s.TokenRequestSerializer, request)
        django_request = request._request
        # Through authenticate() with the request, so that django-axes counts failures.
        user = authenticate(
            request=django_request, username=data["username"], password=data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            # Answer in JSON ourselves; axes' middleware would otherwise send an HTML page.
            django_request.axes_locked_out = False
            raise Throttled(detail="Too many failed attempts; try again later.")
        if user is None:
            raise AuthenticationFailed("Wrong username or password.")
        token, key = services.api_token_create(actor=user, name=data.get("name") or "API")
        body = {"token": key, "expiry": token.expiry, "name": token.name}
        return Response(s.TokenSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        services.api_token_revoke(actor=request.user, token=_presented_token(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutView(APIView):
    """Revoke the token you present (same as DELETE /auth/token)."""

    authentication_classes = [TokenAuthentication]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.api_token_revoke(actor=request.user, token=_presented_token(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Corpora ---------------------------------------------------------------------------------


class CorpusListView(APIView):
    pagination_class = CursorPage

    @extend_schema(responses=s.CorpusSerializer(many=True))
    def get(self, request):
        corpora = selectors.corpora_for_user(request.user)
        return _page(self, corpora, s.CorpusSerializer, ordering=("name", "id"))

    @extend_schema(
        request=s.CorpusCreateSerializer,
        responses={201: s.CorpusDetailSerializer, 400: ERRORS[400], **CONFLICT},
    )
    def post(self, request):
        data = _input(s.CorpusCreateSerializer, request)
        corpus = services.corpus_create(actor=request.user, **data)
        body = s.CorpusDetailSerializer(_corpus_detail(request.user, corpus.slug)).data
        return _created(body, "api-corpus", slug=corpus.slug)


class CorpusDetailView(APIView):
    def present_current(self, obj):
        return s.CorpusDetailSerializer(_corpus_detail(self.request.user, obj.slug)).data

    @extend_schema(responses={200: s.CorpusDetailSerializer, 404: ERRORS[404]})
    def get(self, request, slug):
        corpus = _corpus_detail(request.user, slug)
        return _tagged(Response(s.CorpusDetailSerializer(corpus).data), corpus)

    @extend_schema(
        request=s.CorpusUpdateSerializer,
        responses={200: s.CorpusDetailSerializer, **ERRORS, **STALE},
    )
    def patch(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.MANAGE)
        data = _input(s.CorpusUpdateSerializer, request, partial=True)
        _versioned_update(request, services.corpus_update, data, corpus=corpus, role=access.role)
        updated = _corpus_detail(request.user, slug)
        return _tagged(Response(s.CorpusDetailSerializer(updated).data), updated)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.MANAGE)
        return _versioned_delete(
            request, corpus, services.corpus_delete, corpus=corpus, role=access.role
        )


# --- Topics ----------------------------------------------------------------------------------


class TopicListView(APIView):
    pagination_class = CursorPage

    @extend_schema(responses=s.TopicSerializer(many=True))
    def get(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        topics = selectors.topics_for_corpus(corpus)
        return _page(
            self, topics, s.TopicSerializer, ordering=("position", "id"), attach={"corpus": corpus}
        )

    @extend_schema(
        request=s.TopicInputSerializer, responses={201: s.TopicSerializer, **ERRORS, **CONFLICT}
    )
    def post(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.MANAGE)
        data = _input(s.TopicInputSerializer, request)
        topic = services.topic_create(actor=request.user, corpus=corpus, role=access.role, **data)
        return _created(s.TopicSerializer(topic).data, "api-topic", id=str(topic.pk))


class TopicDetailView(APIView):
    def present_current(self, obj):
        return s.TopicSerializer(selectors.topic_with_access(self.request.user, obj.pk)[0]).data

    @extend_schema(responses={200: s.TopicSerializer, 404: ERRORS[404]})
    def get(self, request, id):
        topic, access = selectors.topic_with_access(request.user, id)
        return _tagged(Response(s.TopicSerializer(topic).data), topic)

    @extend_schema(
        request=s.TopicUpdateSerializer,
        responses={200: s.TopicSerializer, **ERRORS, **CONFLICT, **STALE},
    )
    def patch(self, request, id):
        topic, access = selectors.topic_with_access(request.user, id)
        access.ensure(Action.MANAGE)
        data = _input(s.TopicUpdateSerializer, request, partial=True)
        updated = _versioned_update(
            request, services.topic_update, data, topic=topic, role=access.role
        )
        updated.corpus = topic.corpus
        return _tagged(Response(s.TopicSerializer(updated).data), updated)

    @extend_schema(responses={204: None, **ERRORS, **CONFLICT, **STALE})
    def delete(self, request, id):
        topic, access = selectors.topic_with_access(request.user, id)
        access.ensure(Action.MANAGE)
        return _versioned_delete(
            request, topic, services.topic_delete, topic=topic, role=access.role
        )


# --- Members ---------------------------------------------------------------------------------


class MemberListView(APIView):
    pagination_class = CursorPage

    @extend_schema(responses=s.MemberSerializer(many=True))
    def get(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        members = selectors.members_for_corpus(corpus).annotate(username=F("user__username"))
        return _page(self, members, s.MemberSerializer, ordering=("username",))

    @extend_schema(
        request=s.MemberInputSerializer,
        responses={201: s.MemberSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.MANAGE)
        data = _input(s.MemberInputSerializer, request)
        membership = services.membership_add(
            actor=request.user,
            corpus=corpus,
            role=access.role,
            username=data["username"],
            new_role=data["role"],
        )
        return _created(
            s.MemberSerializer(membership).data,
            "api-member",
            slug=corpus.slug,
            username=membership.user.username,
        )


class MemberDetailView(APIView):
    @extend_schema(responses={200: s.MemberSerializer, 404: ERRORS[404]})
    def get(self, request, slug, username):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        membership = selectors.membership_get(corpus, username)
        return Response(s.MemberSerializer(membership).data)

    @extend_schema(request=s.MemberUpdateSerializer, responses={200: s.MemberSerializer, **ERRORS})
    def patch(self, request, slug, username):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.MANAGE)
        membership = selectors.membership_get(corpus, username)
        data = _input(s.MemberUpdateSerializer, request)
        updated = services.membership_update(
            actor=request.user, membership=membership, role=access.role, new_role=data["role"]
        )
        return Response(s.MemberSerializer(updated).data)

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request, slug, username):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.MANAGE)
        membership = selectors.membership_get(corpus, username)
        services.membership_remove(actor=request.user, membership=membership, role=access.role)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Articles --------------------------------------------------------------------------------


class ArticleListView(APIView):
    pagination_class = CursorPage

    @extend_schema(
        responses=s.ArticleListItemSerializer(many=True),
        parameters=filter_parameters(ArticleFilterSet),
    )
    def get(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        articles = _filtered(
            ArticleFilterSet, request, selectors.articles_for_corpus(access), access=access
        )
        return _page(
            self, articles, s.ArticleListItemSerializer, ordering=("id",), attach={"corpus": corpus}
        )

    @extend_schema(
        request=s.ArticleInputSerializer,
        responses={
            201: s.ArticleSerializer,
            **ERRORS,
            413: OpenApiResponse(description="Text too long."),
        },
    )
    def post(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.IMPORT)
        data = _input(s.ArticleInputSerializer, request)
        article = services.article_create(
            actor=request.user, corpus=corpus, role=access.role, **data
        )
        article.corpus = corpus
        body = s.ArticleSerializer(article, context={"access": access}).data
        return _created(body, "api-article", id=str(article.pk))


class ArticleDetailView(APIView):
    def present_current(self, obj):
        article, access = selectors.article_with_access(self.request.user, obj.pk)
        return s.ArticleSerializer(article, context={"access": access}).data

    @extend_schema(responses={200: s.ArticleSerializer, 404: ERRORS[404]})
    def get(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        body = s.ArticleSerializer(article, context={"access": access}).data
        return _tagged(Response(body), article)

    @extend_schema(
        request=s.ArticleUpdateSerializer, responses={200: s.ArticleSerializer, **ERRORS, **STALE}
    )
    def patch(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        access.ensure(Action.MANAGE)
        data = _input(s.ArticleUpdateSerializer, request, partial=True)
        updated = _versioned_update(
            request, services.article_update, data, article=article, role=access.role
        )
        updated.corpus = article.corpus
        body = s.ArticleSerializer(updated, context={"access": access}).data
        return _tagged(Response(body), updated)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        access.ensure(Action.DELETE_ARTICLE)
        return _versioned_delete(
            request, article, services.article_delete, article=article, role=access.role
        )


class SubmitView(APIView):
    @extend_schema(request=None, responses={200: s.AssignmentSerializer, **ERRORS})
    def post(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        access.ensure(Action.ANNOTATE)
        assignment = services.article_submit(actor=request.user, article=article, role=access.role)
        assignment.article = article
        return Response(s.AssignmentSerializer(assignment).data)


# --- Claims ----------------------------------------------------------------------------------


class ClaimListView(APIView):
    pagination_class = CursorPage

    @extend_schema(
        responses=s.ClaimSerializer(many=True), parameters=filter_parameters(ClaimFilterSet)
    )
    def get(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        claims = _filtered(
            ClaimFilterSet, request, selectors.claims_for_article(access, article), access=access
        )
        context = {"reviews_visible": access.sees_all_on(article, Kind.REVIEW)}
        return _page(
            self, claims, s.ClaimSerializer, ordering=("start", "-end", "id"), context=context
        )

    @extend_schema(request=s.ClaimInputSerializer, responses={201: s.ClaimSerializer, **ERRORS})
    def post(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        access.ensure(Action.ANNOTATE)
        data = _input(s.ClaimInputSerializer, request)
        claim = services.claim_create(actor=request.user, article=article, role=access.role, **data)
        return _created(s.ClaimSerializer(claim).data, "api-claim", id=str(claim.pk))


class ClaimDetailView(APIView):
    def _present(self, claim, access):
        visible = access.sees_all_on(claim.article, Kind.REVIEW)
        return s.ClaimSerializer(claim, context={"reviews_visible": visible}).data

    def present_current(self, obj):
        return self._present(*selectors.claim_with_access(self.request.user, obj.pk))

    @extend_schema(responses={200: s.ClaimSerializer, 404: ERRORS[404]})
    def get(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        return _tagged(Response(self._present(claim, access)), claim)

    @extend_schema(
        request=s.ClaimUpdateSerializer, responses={200: s.ClaimSerializer, **ERRORS, **STALE}
    )
    def patch(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        ensure_that(
            can_edit_claim(user=request.user, role=access.role, claim=claim),
            "Only the claim's creator or a curator may change it.",
        )
        data = _input(s.ClaimUpdateSerializer, request, partial=True)
        _versioned_update(request, services.claim_update, data, claim=claim, role=access.role)
        updated, access = selectors.claim_with_access(request.user, id)
        return _tagged(Response(self._present(updated, access)), updated)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        ensure_that(
            can_edit_claim(user=request.user, role=access.role, claim=claim),
            "Only the claim's creator or a curator may delete it.",
        )

        def delete(actor, claim):
            services.claim_delete(access=access, claim=claim)

        return _versioned_delete(request, claim, delete, claim=claim)


# --- Annotations -----------------------------------------------------------------------------


def _annotation_out(user, annotation_id) -> tuple[Any, dict]:
    """An annotation as the user may see it, with its evidence (a fixed number of queries)."""
    annotation, _access = selectors.annotation_with_access(user, annotation_id)
    full = selectors.annotations_prefetch().get(pk=annotation.pk)
    return full, s.AnnotationSerializer(full).data


class AnnotationListView(APIView):
    pagination_class = CursorPage

    @extend_schema(
        responses=s.AnnotationSerializer(many=True),
        parameters=filter_parameters(AnnotationFilterSet),
    )
    def get(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        annotations = _filtered(
            AnnotationFilterSet,
            request,
            selectors.annotations_for_claim(access, claim),
        )
        return _page(self, annotations, s.AnnotationSerializer, ordering=("id",))

    @extend_schema(
        request=s.AnnotationInputSerializer,
        responses={201: s.AnnotationSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        access.ensure(Action.ANNOTATE)
        data = _input(s.AnnotationInputSerializer, request)
        annotation = services.annotation_create(
            actor=request.user, claim=claim, role=access.role, **data
        )
        _, body = _annotation_out(request.user, annotation.pk)
        return _created(body, "api-annotation", id=str(annotation.pk))


class AnnotationDetailView(APIView):
    def present_current(self, obj):
        return _annotation_out(self.request.user, obj.pk)[1]

    @extend_schema(responses={200: s.AnnotationSerializer, 404: ERRORS[404]})
    def get(self, request, id):
        annotation, body = _annotation_out(request.user, id)
        return _tagged(Response(body), annotation)

    def _edit(self, request, id, read_input) -> Response:
        annotation, access = selectors.annotation_with_access(request.user, id)
        ensure_that(
            can_edit_annotation(user=request.user, role=access.role, annotation=annotation),
            "Only the annotator who wrote this annotation may change it.",
        )
        # The body is read only after the permission checks: a non-member gets 404, not 400.
        data = read_input()
        _versioned_update(
            request,
            services.annotation_update,
            data,
            annotation=annotation,
            role=access.role,
        )
        updated, body = _annotation_out(request.user, id)
        return _tagged(Response(body), updated)

    @extend_schema(
        request=s.AnnotationUpdateSerializer,
        responses={200: s.AnnotationSerializer, **ERRORS, **STALE},
    )
    def patch(self, request, id):
        return self._edit(
            request, id, lambda: _input(s.AnnotationUpdateSerializer, request, partial=True)
        )

    @extend_schema(
        request=s.AnnotationReplaceSerializer,
        responses={200: s.AnnotationSerializer, **ERRORS, **STALE},
    )
    def put(self, request, id):
        def replacement() -> dict[str, Any]:
            data = _input(s.AnnotationReplaceSerializer, request)
            replaced = {
                "topic": data.get("topic"),
                "stance": data["stance"],
                "labels": data.get("labels", []),
                "confidence": data.get("confidence"),
                "note": data.get("note", ""),
                "evidence": data.get("evidence", []),
            }
            if "version" in data:
                replaced["version"] = data["version"]
            return replaced

        return self._edit(request, id, replacement)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request, id):
        annotation, access = selectors.annotation_with_access(request.user, id)
        ensure_that(
            can_delete_annotation(user=request.user, role=access.role, annotation=annotation),
            "Only the annotator who wrote this annotation (or an owner) may delete it.",
        )
        return _versioned_delete(
            request,
            annotation,
            services.annotation_delete,
            annotation=annotation,
            role=access.role,
        )


# --- Relations -------------------------------------------------------------------------------


class RelationListView(APIView):
    pagination_class = CursorPage

    @extend_schema(responses=s.RelationSerializer(many=True))
    def get(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        relations = selectors.relations_for_article(access, article)
        return _page(self, relations, s.RelationSerializer, ordering=("id",))

    @extend_schema(
        request=s.RelationInputSerializer,
        responses={201: s.RelationSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request, id):
        article, access = selectors.article_with_access(request.user, id)
        access.ensure(Action.ANNOTATE)
        data = _input(s.RelationInputSerializer, request)
        source = _claim_in(article, data["source"], "source", request.user)
        target = _claim_in(article, data["target"], "target", request.user)
        relation = services.relation_create(
            actor=request.user,
            source=source,
            target=target,
            role=access.role,
            kind=data["kind"],
        )
        return _created(s.RelationSerializer(relation).data, "api-relation", id=str(relation.pk))


class RelationDetailView(APIView):
    @extend_schema(responses={200: s.RelationSerializer, 404: ERRORS[404]})
    def get(self, request, id):
        relation, access = selectors.relation_with_access(request.user, id)
        return Response(s.RelationSerializer(relation).data)

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request, id):
        relation, access = selectors.relation_with_access(request.user, id)
        ensure_that(
            can_delete_relation(user=request.user, role=access.role, relation=relation),
            "Only the relation's creator or a curator may delete it.",
        )
        services.relation_delete(actor=request.user, relation=relation, role=access.role)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Reviews and comments --------------------------------------------------------------------


class ReviewView(APIView):
    def _review(self, claim, access):
        review = selectors.review_for_claim(access, claim)
        if review is None:
            raise Http404("This claim has no review (or you may not see it yet).")
        return review

    def present_current(self, obj):
        claim, access = selectors.claim_with_access(self.request.user, obj.claim_id)
        return s.ReviewSerializer(self._review(claim, access)).data

    @extend_schema(responses={200: s.ReviewSerializer, 404: ERRORS[404]})
    def get(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        review = self._review(claim, access)
        return _tagged(Response(s.ReviewSerializer(review).data), review)

    @extend_schema(
        request=s.ReviewInputSerializer,
        responses={200: s.ReviewSerializer, 201: s.ReviewSerializer, **ERRORS, **STALE},
    )
    def put(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        access.ensure(Action.REVIEW)
        data = _input(s.ReviewInputSerializer, request)
        existed = selectors.review_for_claim(access, claim) is not None
        # The first decision creates the review; changing one must name the version it changes.
        version = _required_version(request, data) if existed else _version(request, data)
        services.review_set(
            actor=request.user, claim=claim, role=access.role, version=version, **data
        )
        review = self._review(claim, access)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return _tagged(Response(s.ReviewSerializer(review).data, status=code), review)

    @extend_schema(responses={204: None, **ERRORS, **STALE})
    def delete(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        access.ensure(Action.REVIEW)
        review = self._review(claim, access)
        return _versioned_delete(
            request, review, services.review_delete, review=review, role=access.role
        )


class CommentListView(APIView):
    pagination_class = CursorPage

    @extend_schema(responses=s.CommentSerializer(many=True))
    def get(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        comments = selectors.comments_for_claim(access, claim)
        return _page(self, comments, s.CommentSerializer, ordering=("id",))

    @extend_schema(request=s.CommentInputSerializer, responses={201: s.CommentSerializer, **ERRORS})
    def post(self, request, id):
        claim, access = selectors.claim_with_access(request.user, id)
        access.ensure(Action.ANNOTATE)
        data = _input(s.CommentInputSerializer, request)
        comment = services.comment_create(
            actor=request.user, claim=claim, role=access.role, text=data["text"]
        )
        return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


# --- Assignments -----------------------------------------------------------------------------


class AssignmentListView(APIView):
    pagination_class = CursorPage

    @extend_schema(
        responses=s.AssignmentSerializer(many=True),
        parameters=filter_parameters(AssignmentFilterSet),
    )
    def get(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        assignments = _filtered(
            AssignmentFilterSet, request, selectors.assignments_for_corpus(access)
        )
        return _page(self, assignments, s.AssignmentSerializer, ordering=("id",))

    @extend_schema(
        request=s.AssignmentInputSerializer,
        responses={201: s.AssignmentSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request, slug):
        corpus, access = selectors.corpus_with_access(request.user, slug)
        access.ensure(Action.ASSIGN)
        data = _input(s.AssignmentInputSerializer, request)
        try:
            article, _article_access = selectors.article_with_access(request.user, data["article"])
        except Http404:
            article = None
        if article is None or article.corpus_id != corpus.pk:
            raise ValidationError({"article": ["No such article in this corpus."]})
        assignment = services.assignment_create(
            actor=request.user, article=article, role=access.role, annotator=data["annotator"]
        )
        return Response(s.AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


# --- URLs ------------------------------------------------------------------------------------

SLUG = r"(?P<slug>[-a-zA-Z0-9_]+)"
ID = r"(?P<id>[^/]+)"


def _route(pattern: str, view, name: str):
    """`pattern` with an optional trailing slash: both forms answer, neither redirects."""
    return re_path(rf"^{pattern}/?$", view.as_view(), name=name)


urlpatterns = [
    _route("auth/token", TokenView, "api-token"),
    _route("auth/logout", LogoutView, "api-logout"),
    _route("corpora", CorpusListView, "api-corpora"),
    _route(f"corpora/{SLUG}", CorpusDetailView, "api-corpus"),
    _route(f"corpora/{SLUG}/topics", TopicListView, "api-topics"),
    _route(f"corpora/{SLUG}/members", MemberListView, "api-members"),
    _route(f"corpora/{SLUG}/members/(?P<username>[^/]+)", MemberDetailView, "api-member"),
    _route(f"corpora/{SLUG}/articles", ArticleListView, "api-articles"),
    _route(f"corpora/{SLUG}/assignments", AssignmentListView, "api-assignments"),
    _route(f"topics/{ID}", TopicDetailView, "api-topic"),
    _route(f"articles/{ID}", ArticleDetailView, "api-article"),
    _route(f"articles/{ID}/claims", ClaimListView, "api-claims"),
    _route(f"articles/{ID}/relations", RelationListView, "api-relations"),
    _route(f"articles/{ID}/submit", SubmitView, "api-submit"),
    _route(f"claims/{ID}", ClaimDetailView, "api-claim"),
    _route(f"claims/{ID}/annotations", AnnotationListView, "api-annotations"),
    _route(f"claims/{ID}/review", ReviewView, "api-review"),
    _route(f"claims/{ID}/comments", CommentListView, "api-comments"),
    _route(f"annotations/{ID}", AnnotationDetailView, "api-annotation"),
    _route(f"relations/{ID}", RelationDetailView, "api-relation"),
]
