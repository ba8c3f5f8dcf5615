"""API token authentication: `Authorization: Token <key>` checked against knox's hashed tokens."""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from datetime import timedelta
from hmac import compare_digest
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox import auth as knox_auth
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from articles import selectors
from articles.models import ApiToken
from articles.prepared import Prepared, columns, instance

# knox keys are hex (plus an optional short prefix); anything else cannot be one of ours.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,200}")
# "Last used" is shown to the minute: at most one write per token and minute, not per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

User = get_user_model()
# knox's lookup (the tokens sharing the key's first characters, newest first, with their user),
# prepared: it runs before every API answer.
_TOKENS = Prepared(
    ApiToken,
    lambda key: ApiToken.objects.filter(token_key=key).values_list(
        *columns(ApiToken), *columns(User, "user__")
    ),
    str,
)
_TOKEN_FIELDS = len(ApiToken._meta.concrete_fields)


class TokenAuthentication(knox_auth.TokenAuthentication):
    """knox's check, refusing malformed keys before they reach the database and recording when
    each token was last used (for the tokens page)."""

    request: Request | None = None

    def authenticate(self, request: Request):
        self.request = request  # (DRF makes the authenticators afresh for every request)
        return super().authenticate(request)

    def authenticate_credentials(self, token: bytes):
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        if not TOKEN_SHAPE.fullmatch(text):
            raise AuthenticationFailed("Invalid token.")
        key = text[: CONSTANTS.TOKEN_KEY_LENGTH]
        # What the URL names, read with the token (selectors.read_with_token): then the view's
        # fetch needs no query of its own.
        fetcher, value = _named_by_url(self.request)
        joined = selectors.read_with_token(fetcher, value, key) if fetcher else None
        if joined:
            alias, pairs = joined
            for named, token_row in pairs:
                found = self._check(text, alias, token_row)
                if found:
                    _remember(self.request, fetcher, value, found[0], (alias, [named]))
                    return found
        # knox's authenticate_credentials, over the prepared lookup.
        alias, rows = _TOKENS.read(key)
        for row in rows:
            found = self._check(text, alias, row)
            if found:
                if joined is not None:  # the token's user is not a member: nothing to fetch
                    _remember(self.request, fetcher, value, found[0], (joined[0], []))
                return found
        raise AuthenticationFailed("Invalid token.")

    def _check(self, text: str, alias: str, row: Sequence[Any]) -> tuple[Any, ApiToken] | None:
        """(user, token) when `row` (a token's columns and its user's) is the token presented
        and is valid; None when it is another token sharing its key, or expired."""
        auth_token = instance(ApiToken, alias, row[:_TOKEN_FIELDS])
        ApiToken._meta.get_field("user").set_cached_value(
            auth_token, instance(User, alias, row[_TOKEN_FIELDS:])
        )
        if self._cleanup_token(auth_token):
            return None
        try:
            digest = hash_token(text)
        except (TypeError, binascii.Error):
            raise AuthenticationFailed("Invalid token.") from None
        if not compare_digest(digest, auth_token.digest):
            return None
        if knox_settings.AUTO_REFRESH and auth_token.expiry:
            self.renew_token(auth_token)
        return self.validate_user(auth_token)

    def _cleanup_token(self, auth_token) -> bool:
        """Whether the presented token has expired (then it is deleted). knox also loads every
        other token of the user on each request to delete their expired ones: a query per request
        for nothing, since an expired token is refused, and deleted, when it is presented."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        last = getattr(token, "last_used_at", None)
        if last is None or now - last >= LAST_USED_RESOLUTION:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token


def _named_by_url(request: Request | None) -> tuple[Any, Any]:
    """The fetcher of the view serving `request` and the value its URL gives it, if any."""
    context = getattr(request, "parser_context", None) or {}
    view = context.get("view")
    fetcher = getattr(view, "fetcher", None)
    name = getattr(view, "lookup_url_kwarg", None)
    if fetcher is None or name not in context.get("kwargs", {}):
        return None, None
    return fetcher, context["kwargs"][name]


_FETCHED = "_fetched_with_token"


def _remember(request: Request | None, fetcher: Any, value: Any, user: Any, read: Any) -> None:
    setattr(request, _FETCHED, (fetcher, value, user, read))


def fetched_with_token(request: Request, fetcher: Any, value: Any) -> Any:
    """What authentication read for `fetcher(request.user, value)` (its `read=` argument), once:
    a later fetch in the same request (after a write) reads afresh. None if nothing was read."""
    remembered = getattr(request, _FETCHED, None)
    if remembered is None:
        return None
    setattr(request, _FETCHED, None)
    was_fetcher, was_value, user, read = remembered
    if was_fetcher is not fetcher or was_value != value or user is not request.user:
        return None
    return read


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "articles.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
