"""The pages around the annotation page: log in/out, the dashboard, a corpus, import."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from .. import selectors


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    corpora = list(selectors.corpora_for_user(request.user))
    return render(request, "articles/home.html", {"corpora": corpora})


urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home, name="home"),
]
