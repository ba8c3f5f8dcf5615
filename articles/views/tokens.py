"""The API tokens page: create a named token (its key is shown once), list yours, revoke them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from .. import selectors, services
from ..forms import TokenForm
from .review_common import PageRequest, attempt


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: PageRequest) -> HttpResponse:
    form = TokenForm(request.POST if request.method == "POST" else None)
    token = key = None
    status: int | None = 200  # None: `attempt` succeeded
    if request.method == "POST":

        def create(data: dict[str, Any]) -> None:
            nonlocal token, key
            token, key = services.api_token_create(
                actor=request.user, name=data["name"], expires_in=data["expires_in"]
            )

        status = attempt(request, form, create)
        if status is None:
            status, form = 200, TokenForm()  # a fresh form for the next one
    context = {
        "form": form,
        "tokens": selectors.api_tokens_for_user(request.user),
        "created": token,
        "key": key,
        "now": timezone.now(),
    }
    response = render(request, "articles/tokens.html", context, status=status)
    if key:
        response["Cache-Control"] = "no-store"  # the key must not linger in any cache
    return response


@login_required
@require_POST
def token_revoke(request: PageRequest, pk: int) -> HttpResponse:
    token = selectors.api_token_get_for_user(request.user, pk)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(
        request, f"Token “{token.name or 'unnamed'}” revoked; requests that present it now fail."
    )
    return redirect("tokens")


urlpatterns = [
    path("account/tokens/", tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", token_revoke, name="token-revoke"),
]
