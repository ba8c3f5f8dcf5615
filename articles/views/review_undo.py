"""Undo for the curator's decisions on the review page: after a decision (the one-key accept
above all) the next page offers to undo it for a few seconds. The claim, the review's version
the decision made and the review as it was before are kept in the session, so the undo puts
back exactly that state through services.review_undo (versioned and audited), and refuses
(409) when the review changed in between."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import review_selectors as rs
from .. import selectors, services
from ..forms import PageForm, passed_on
from ..models import Claim, ReviewDecision
from ..permissions import Action
from .review_common import PageRequest, attempt

SESSION_KEY = "review_undo"
UNDO_SECONDS = 60  # the server takes an undo this long after the decision
SHOW_SECONDS = 10  # the page shows the button this long (the script hides it then)
QUOTE_CHARS = 60


class ReviewUndoForm(PageForm):
    q = passed_on()  # the queue's filters, to come back to the same queue


def _short(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _state_words(state: services.ReviewState | None) -> str:
    if state is None:
        return "not reviewed"
    if state["decision"] == ReviewDecision.ACCEPTED:
        return f"accepted as {state['stance']}"
    return "rejected"


def remember(request: HttpRequest, claim: Claim, previous: services.ReviewState | None) -> None:
    """After a decision on `claim`: keep what undoing it needs (the review before, and the
    version the decision made)."""
    review = rs.review_for_claim(claim)
    if review is None:
        request.session.pop(SESSION_KEY, None)
        return
    request.session[SESSION_KEY] = {
        "claim": claim.pk,
        "version": review.version,
        "previous": previous,
        "at": time.time(),
        "quote": _short(claim.exact),
        "now": _state_words(services.review_state(review)),
    }


def pending(request: HttpRequest) -> dict[str, Any] | None:
    """The decision that may still be undone, for the page's Undo button; None after
    UNDO_SECONDS."""
    entry = request.session.get(SESSION_KEY)
    if not isinstance(entry, dict) or time.time() - float(entry.get("at", 0)) > UNDO_SECONDS:
        return None
    return {
        **entry,
        "url": reverse("review-undo", args=[entry["claim"]]),
        "seconds": SHOW_SECONDS,
        "before": _state_words(entry["previous"]),
    }


@login_required
@require_POST
def review_undo(request: PageRequest, pk: str) -> HttpResponse:
    claim, access = selectors.claim_with_access(request.user, pk)
    access.ensure(Action.REVIEW)
    form = ReviewUndoForm(request.POST)
    back = reverse("review-claim", args=[claim.pk])

    def undo(data: dict[str, Any]) -> str:
        entry = pending(request)
        if entry is None or entry["claim"] != claim.pk:
            raise ValidationError(
                {
                    "review": [
                        "Too late to undo: a decision can be undone for a minute. "
                        "Change the decision on the claim's page instead."
                    ]
                }
            )
        services.review_undo(
            actor=request.user,
            claim=claim,
            role=access.role,
            previous=entry["previous"],
            version=entry["version"],
        )
        request.session.pop(SESSION_KEY, None)
        return f"Undone: “{entry['quote']}” is {entry['before']} again."

    status = attempt(request, form, undo)
    query = str(form.cleaned_data.get("q") or "") if hasattr(form, "cleaned_data") else ""
    url = f"{back}?{query}" if query else back
    if status is None:
        return redirect(url + "#claim-title")
    context = {
        "status": status,
        "title": "Not undone",
        "message": form.error_text()
        or "The decision could not be undone; open the claim to change it.",
        "back": url,
    }
    return render(request, "error.html", context, status=status)
