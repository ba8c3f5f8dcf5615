"""Submitting my work on an article: it is marked done, and in a blind corpus the others' work
on it becomes visible to me."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ... import selectors, services
from .context import PageRequest


@login_required
@require_POST
def article_submit(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    services.article_submit(actor=request.user, article=article, role=access.role)
    messages.success(
        request,
        "Submitted: your work on this article is marked done. "
        "You now see the other annotators' tags and the curators' decisions.",
    )
    return redirect("article", pk=article.pk)
