"""The API tokens page: create a named token (its key is shown once), list yours, revoke them."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from articles import selectors, services

EXPIRY_CHOICES = [
    ("", "Never (until you revoke it)"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What the token is for, e.g. “export script on the lab server”.",
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST if request.method == "POST" else None)
    created = key = None
    if form.is_valid():
        days = form.cleaned_data["expires_in"]
        try:
            created, key = services.api_token_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                expires_in=timedelta(days=int(days)) if days else None,
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            form = TokenForm()
    context = {
        "form": form,
        "tokens": selectors.api_tokens_for_user(request.user),
        "created": created,
        "key": key,
        "now": timezone.now(),
    }
    response = render(request, "articles/tokens.html", context)
    if key:
        response["Cache-Control"] = "no-store"  # the key must not linger in any cache
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
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
