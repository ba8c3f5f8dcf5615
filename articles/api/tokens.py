"""API tokens: trade a username and password for a token, revoke the token you present.

These two are not ApiViews: they fetch nothing with access, and the token trade is the one
endpoint open to anonymous callers (throttled, and counted by django-axes).
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from articles import services
from articles.models import ApiToken

from . import serializers as s
from .auth import TokenAuthentication
from .base import read_input, signed_in
from .schema import ERRORS


def _presented_token(request: Request) -> ApiToken:
    if not isinstance(request.auth, ApiToken):
        raise NotAuthenticated("Present the token to revoke: Authorization: Token <key>.")
    return request.auth


def _revoke(request: Request) -> Response:
    services.api_token_revoke(actor=signed_in(request), token=_presented_token(request))
    return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(APIView):
    """Trade a username and password for an API token; revoke the token you present."""

    throttle_scope = "token"

    def _method(self) -> str | None:
        return getattr(getattr(self, "request", None), "method", None)

    def get_authenticators(self):
        return [] if self._method() == "POST" else [TokenAuthentication()]

    def get_permissions(self):
        return [AllowAny()] if self._method() == "POST" else super().get_permissions()

    def get_authenticate_header(self, request: Request) -> str:
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
    def post(self, request: Request) -> Response:
        data = read_input(s.TokenRequestSerializer, request)
        django_request = request._request
        # Through authenticate() with the request, so that django-axes counts failures.
        user = authenticate(
            request=django_request, username=data["username"], password=data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            # Answer in JSON ourselves; axes' middleware would otherwise send an HTML page.
            django_request.axes_locked_out = False  # type: ignore[attr-defined]  # axes sets it
            raise Throttled(detail="Too many failed attempts; try again later.")
        if user is None:
            raise AuthenticationFailed("Wrong username or password.")
        token, key = services.api_token_create(actor=user, name=data.get("name") or "API")
        body = {"token": key, "expiry": token.expiry, "name": token.name}
        return Response(s.TokenSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        return _revoke(request)


class LogoutView(APIView):
    """Revoke the token you present (same as DELETE /auth/token)."""

    authentication_classes = [TokenAuthentication]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        return _revoke(request)
