"""Merging two claims of an article (curators and owners): pick the claim to keep, see what
moves and which annotators tagged both, choose for each of them, merge."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from .. import selectors, services
from ..access import Access
from ..models import Annotation, Claim, Comment, Relation
from ..permissions import Action
from .review_common import PageRequest, team_context


def _into(request: PageRequest, claim: Claim, value: str) -> Claim | None:
    """The claim to keep, named in the query or the form: another live claim of the article."""
    if not value:
        return None
    try:
        into, _access = selectors.claim_with_access(request.user, value)
    except Http404:
        raise ValidationError({"into": ["No such claim in this article."]}) from None
    if into.article_id != claim.article_id or into.pk == claim.pk:
        raise ValidationError({"into": ["Choose another claim of the same article."]})
    return into


def _page(
    request: PageRequest,
    access: Access,
    claim: Claim,
    into: Claim | None,
    *,
    errors: list[str] | None = None,
    keep: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    preview: dict[str, Any] | None = None
    if into is not None:
        preview = {
            "annotations": Annotation.objects.filter(claim=claim).count(),
            "comments": Comment.objects.filter(claim=claim).count(),
            "relations": Relation.objects.filter(source_claim=claim).count()
            + Relation.objects.filter(target_claim=claim).count(),
            "conflicts": [
                (conflict, (keep or {}).get(conflict.username, ""))
                for conflict in services.merge_conflicts(claim=claim, into=into)
            ],
        }
    context = {
        **team_context(access, "corpus-review"),
        "claim": claim,
        "article": claim.article,
        "into": into,
        "choices": list(selectors.claim_choices_for_merge(claim)),
        "preview": preview,
        "errors": errors or [],
    }
    return render(request, "articles/claim_merge.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def claim_merge(request: PageRequest, pk: int) -> HttpResponse:
    claim, access = selectors.claim_with_access(request.user, pk)
    access.ensure(Action.REVIEW)
    named = request.POST.get("into") if request.method == "POST" else request.GET.get("into")
    try:
        into = _into(request, claim, str(named or "").strip())
    except ValidationError as error:
        return _page(request, access, claim, None, errors=error.messages, status=400)
    if request.method == "GET":
        return _page(request, access, claim, into)
    if into is None:
        return _page(request, access, claim, None, errors=["Choose the claim to keep."], status=400)
    keep = {
        name.removeprefix("keep-"): str(request.POST.get(name, ""))
        for name in request.POST
        if name.startswith("keep-")
    }
    try:
        services.claim_merge(access=access, claim=claim, into=into, keep=keep)
    except ValidationError as error:
        return _page(request, access, claim, into, errors=error.messages, keep=keep, status=400)
    except services.MergeNeedsChoice as error:
        return _page(request, access, claim, into, errors=[str(error)], keep=keep, status=409)
    messages.success(request, "Merged the two claims: this is the claim that stays.")
    return redirect("review-claim", pk=into.pk)


urlpatterns = [path("claims/<int:pk>/merge/", claim_merge, name="claim-merge")]
