"""Accounts without the Django admin: invitations by e-mail (an owner invites, the invited person
sets their own password or joins with the account they have), changing one's password and
resetting a forgotten one (Django's own views with this app's templates; the reset mail goes
through the configured e-mail backend, the console in development)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .. import selectors, services
from ..forms import InvitationForm
from ..models import Invitation
from ..permissions import Action
from .review_common import PageRequest, attempt, corpus_for
from .team import _settings_page as settings_page

# --- Inviting (owners, from the corpus's members settings) ----------------------------------


def _send_invitation(request: PageRequest, invitation: Invitation, link: str) -> bool:
    """Mails the link when an e-mail server is configured (EMAIL_URL); True when sent."""
    if not settings.EMAIL_CONFIGURED:
        return False
    corpus = invitation.corpus
    send_mail(
        subject=f"Invitation to “{corpus.name}” on Argument Annotator",
        message=(
            f"{request.user.username} invites you to the corpus “{corpus.name}” as "
            f"{invitation.get_role_display().lower()}.\n\nOpen this link to join (it works once, "
            f"until {invitation.expires_at:%d %B %Y}):\n{link}\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
    return True


@login_required
@require_POST
def corpus_invite(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.MANAGE)
    form = InvitationForm(request.POST)
    created: dict[str, Any] = {}

    def invite(data: dict[str, Any]) -> None:
        invitation, key = services.invitation_create(
            access=access, email=data["email"], role=data["role"]
        )
        link = request.build_absolute_uri(reverse("invitation", args=[key]))
        created.update(invitation=invitation, link=link)
        created["sent"] = _send_invitation(request, invitation, link)

    status = attempt(request, form, invite, as_message=True)
    if status is not None:
        return settings_page(request, access, None, status)
    context = {"corpus": corpus, **created, "email_configured": settings.EMAIL_CONFIGURED}
    return render(request, "articles/invitation_created.html", context)


@login_required
@require_POST
def invitation_revoke(request: PageRequest, slug: str, pk: int) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.MANAGE)
    invitation = selectors.invitation_in_corpus(corpus, pk)
    services.invitation_revoke(access=access, invitation=invitation)
    messages.success(request, f"Revoked the invitation of {invitation.email}.")
    return redirect(reverse("corpus-settings", args=[corpus.slug]) + "#members")


# --- Accepting (the invited person) ------------------------------------------------------


class SignUpForm(UserCreationForm):
    """A username and a password (twice), checked by Django's password validators."""


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, key: str) -> HttpResponse:
    """Signed in: a button to join. Signed out: set a username and password (a new account), or
    sign in first with the account one has. A used, expired or unknown link: 404."""
    found = services.invitation_usable(key)
    if found is None:
        return render(request, "articles/invitation_gone.html", status=404)
    form = None
    if request.method == "POST" and request.user.is_authenticated:
        services.invitation_accept(invitation=found, user=request.user)
        messages.success(request, f"You joined “{found.corpus.name}” as {found.role}.")
        return redirect("corpus", found.corpus.slug)
    if request.method == "POST":
        form = SignUpForm(request.POST)
        if form.is_valid():
            user = services.invitation_sign_up(
                invitation=found,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! You joined “{found.corpus.name}” as {found.role}.")
            return redirect("corpus", found.corpus.slug)
    elif not request.user.is_authenticated:
        form = SignUpForm()
    context = {"invitation": found, "form": form, "key": key}
    return render(
        request, "articles/invitation.html", context, status=400 if form and form.errors else 200
    )


# --- One's own password ------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, "Your password is changed.")
        return super().form_valid(form)


# Django's form views also answer PUT (and the reset link any method): only GET and POST here.
GET_OR_POST = require_http_methods(["GET", "POST"])

urlpatterns = [
    path("corpora/<slug:slug>/invitations/", corpus_invite, name="corpus-invite"),
    path(
        "corpora/<slug:slug>/invitations/<int:pk>/revoke/",
        invitation_revoke,
        name="invitation-revoke",
    ),
    path("invitations/<str:key>/", invitation, name="invitation"),
    path(
        "account/password/",
        GET_OR_POST(login_required(PasswordChangeView.as_view())),
        name="password-change",
    ),
    path(
        "accounts/password-reset/",
        GET_OR_POST(
            auth_views.PasswordResetView.as_view(
                template_name="registration/password_reset.html",
                email_template_name="registration/password_reset_mail.txt",
                subject_template_name="registration/password_reset_subject.txt",
                success_url=reverse_lazy("password-reset-sent"),
            )
        ),
        name="password-reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_sent.html"
        ),
        name="password-reset-sent",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        GET_OR_POST(
            auth_views.PasswordResetConfirmView.as_view(
                template_name="registration/password_reset_confirm.html",
                success_url=reverse_lazy("password-reset-done"),
            )
        ),
        name="password-reset-confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password-reset-done",
    ),
]
