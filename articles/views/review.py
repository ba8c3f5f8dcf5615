"""Team review: the curators' queue, one claim's review with its comment thread, claim history.

This module also gathers the URL patterns of the other team pages (team.py, agreement_page.py)
so that articles/urls.py keeps one entry for the whole area.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db.models import Count, QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import trigger_client_event

from .. import review_selectors as rs
from .. import selectors, services
from ..access import Access, Kind
from ..filters.pages import QueueFilterSet
from ..forms import CommentForm, ReviewForm
from ..models import Annotation, Claim, ReviewDecision, Stance
from ..permissions import Action
from . import agreement_page, audit_names, review_undo, team
from .review_common import PageRequest, attempt, corpus_for, paginate, team_context

CONTEXT_CHARS = 320  # characters of article text shown on each side of a claim under review


# --- Queue ---------------------------------------------------------------------------------

REASONS = {
    rs.RANK_DISAGREE: "Annotators disagree",
    rs.RANK_SINGLE: "One annotator",
    rs.RANK_AGREED: "Agreed, not reviewed",
    rs.RANK_REVIEWED: "Reviewed",
}


def _why(claim: Any) -> str:  # a row of rs.review_queue: a Claim with its annotations
    if claim.rank == rs.RANK_DISAGREE:
        parts = []
        if claim.n_stances > 1:
            parts.append("stances differ")
        if claim.n_topics > 1:
            parts.append("topics differ")
        return ", ".join(parts).capitalize()
    if claim.rank == rs.RANK_SINGLE:
        return "No annotation yet" if claim.n_annotations == 0 else "Only one annotator"
    return REASONS[claim.rank]


TALLIES = {  # the tiles above the queue: the state each counts, by the rank it counts
    "disagree": rs.RANK_DISAGREE,
    "single": rs.RANK_SINGLE,
    "agreed": rs.RANK_AGREED,
    "reviewed": rs.RANK_REVIEWED,
}


def _first_open(page: Page, claims: QuerySet[Claim]) -> Claim | None:
    """The first unreviewed claim of the (filtered) queue. Reviewed claims rank last, so on the
    first page it is the page's first row, if that one is unreviewed: no second pass of the
    whole queue's ranks (a query that grows with the corpus); on later pages, one query."""
    if page.number == 1:
        rows = list(page.object_list)
        return rows[0] if rows and not rows[0].has_review else None
    return rs.queue_next(claims)


@login_required
@require_GET
def corpus_review(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.REVIEW)
    filters = QueueFilterSet(request.GET, rs.review_queue(corpus), access=access)
    for problem in filters.warnings:
        messages.warning(request, problem)
    page = paginate(request, rs.queue_with_details(filters.qs), 25)
    for claim in page.object_list:
        claim.why = _why(claim)
        claim.topics_differ = claim.n_topics > 1
    ranks = Counter(
        dict(rs.review_queue(corpus).order_by().values_list("rank").annotate(n=Count("id")))  # type: ignore[misc]  # rank: review_queue's annotation
    )
    tally = {state: ranks[rank] for state, rank in TALLIES.items()}
    context = {
        **team_context(access, "corpus-review"),
        "page": page,
        "filters": filters.values,
        "query": filters.querystring(),
        "first_open": _first_open(page, filters.qs),
        "options": rs.queue_filter_options(corpus),
        "tally": {**tally, "total": sum(ranks.values())},
    }
    return render(request, "articles/review_queue.html", context)


# --- One claim -----------------------------------------------------------------------------


def _context_around(claim: Claim) -> tuple[str, str, bool, bool]:
    """Text before and after the claim, cut at a word boundary; whether more text lies beyond."""
    text = claim.article.text
    if claim.start is None or claim.end is None:  # an orphan: its words left the text
        return "", "", False, False
    begin = max(0, claim.start - CONTEXT_CHARS)
    end = min(len(text), claim.end + CONTEXT_CHARS)
    before, after = text[begin : claim.start], text[claim.end : end]
    if begin > 0 and " " in before:
        before = before[before.index(" ") + 1 :]
    if end < len(text) and " " in after:
        after = after[: after.rindex(" ")]
    return before, after, begin > 0, end < len(text)


def _agreed(annotations: list[Annotation]) -> dict[str, Any] | None:
    """The stance and topic every annotator chose, when they all chose the same."""
    if not annotations:
        return None
    pairs = {(a.stance, a.topic_id) for a in annotations}
    if len(pairs) != 1:
        return None
    first = annotations[0]
    return {
        "stance": first.stance,
        "stance_label": first.get_stance_display(),
        "topic": first.topic,
        "n": len(annotations),
    }


@login_required
@require_http_methods(["GET", "POST"])
def review_claim(request: PageRequest, pk: str) -> HttpResponse:
    claim, access = selectors.claim_with_access(request.user, pk)
    access.ensure(Action.REVIEW)
    annotations = rs.annotations_for_review(claim)
    agreed = _agreed(annotations)
    posted = request.method == "POST"
    form = ReviewForm(request.POST if posted else None, agreed=agreed)
    # The queue the claim was opened from: its filters come in the query string, or, posted, in
    # the form's `q`, so that "next" stays in the same queue.
    queue = QueryDict(form["q"].value()) if posted else request.GET
    filters = QueueFilterSet(queue, rs.review_queue(access.corpus), access=access)
    status: int | None = 200  # None: `attempt` succeeded
    if posted:
        before = services.review_state(rs.review_for_claim(claim))
        status = attempt(request, form, lambda data: _decide(request, access, claim, data))
        if status is None:
            review_undo.remember(request, claim, before)
            return _next_after(request, claim, filters, stay=form.cleaned_data["then"] == "stay")
    review = rs.review_for_claim(claim)
    refused = status != 200 and not form.conflict
    values = form.decided if refused else _form_values(review, agreed, annotations)
    before_text, after_text, more_before, more_after = _context_around(claim)
    context = {
        **team_context(access, "corpus-review"),
        "claim": claim,
        "article": claim.article,
        "context_before": before_text,
        "context_after": after_text,
        "more_before": more_before,
        "more_after": more_after,
        "annotations": annotations,
        "agreed": agreed,
        "review": review,
        "values": values,
        "errors": form.error_map if refused else {},
        "conflict": form.conflict,
        "topics": list(selectors.topics_for_corpus(access.corpus)),
        "stances": Stance.choices,
        "next_claim": rs.queue_next(filters.qs, after=claim),
        "query": filters.querystring(),
        "links": _links(access, claim),
        "undo": review_undo.pending(request),
        **_thread_context(access, claim),
    }
    return render(request, "articles/review_claim.html", context, status=status)


def _links(access: Access, claim: Claim) -> list[dict[str, Any]]:
    """The claim's links both ways, each with the claim at the other end (one query)."""
    return [
        {
            "relation": relation,
            "outgoing": relation.source_claim_id == claim.pk,
            "other": relation.target_claim
            if relation.source_claim_id == claim.pk
            else relation.source_claim,
        }
        for relation in selectors.relations_of_claim(access, claim)
    ]


def _decide(request: PageRequest, access: Access, claim: Claim, data: dict[str, Any]) -> str:
    review = services.review_set(
        actor=request.user,
        claim=claim,
        role=access.role,
        decision=data["decision"],
        topic=data["topic"] or None,
        stance=data["stance"] or None,
        note=data["note"],
        version=data["version"] or None,
    )
    verdict = (
        f"accepted with gold stance {review.stance}"
        if review.decision == ReviewDecision.ACCEPTED
        else "rejected"
    )
    return f"Claim “{_short(claim.exact)}” {verdict}."


def _next_after(
    request: PageRequest, claim: Claim, filters: QueueFilterSet, *, stay: bool
) -> HttpResponse:
    """After a decision: the next open claim of the same queue, unless asked to stay."""
    after = rs.queue_next(filters.qs, after=claim)
    query = filters.querystring()
    if after is not None and not stay:
        return redirect(_with_query(reverse("review-claim", args=[after.pk]), query))
    if after is None:
        messages.info(request, "No unreviewed claim left in this queue.")
    return redirect(_with_query(reverse("review-claim", args=[claim.pk]), query))


def _form_values(review, agreed, annotations) -> dict[str, str]:
    if review is not None:
        return {
            "decision": review.decision,
            "stance": review.stance,
            "topic": str(review.topic_id or ""),
            "note": review.note,
        }
    stance, topic = "", ""
    if agreed:
        stance, topic = agreed["stance"], str(agreed["topic"].pk)
    elif annotations:
        # Preselect the most frequent topic; the stance is left for the curator to choose.
        topic = str(Counter(a.topic_id for a in annotations).most_common(1)[0][0])
    return {"decision": "", "stance": stance, "topic": topic, "note": ""}


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


# --- Comment thread ------------------------------------------------------------------------


def _thread_context(access: Access, claim: Claim) -> dict[str, Any]:
    return {
        "claim": claim,
        "comments": list(selectors.comments_for_claim(access, claim)),
        "comments_hidden": not access.sees_all_on(claim.article, Kind.COMMENT),
        "can_comment": access.can(Action.ANNOTATE),
    }


@login_required
@require_http_methods(["GET", "POST"])
def claim_thread(request: PageRequest, pk: str) -> HttpResponse:
    """The claim's thread as a fragment (htmx polls it); POST adds a comment.

    Without JavaScript the form posts here too and is sent back to `next`.
    """
    claim, access = selectors.claim_with_access(request.user, pk)
    if request.method == "GET":
        return render(request, "articles/review_claim.html#thread", _thread_context(access, claim))
    access.ensure(Action.ANNOTATE)
    form = CommentForm(request.POST)
    refused = attempt(
        request,
        form,
        lambda data: _comment(request, access, claim, data),
        as_message=not request.htmx,
    )
    if not request.htmx:
        target = form.data.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = (
                reverse("review-claim", args=[claim.pk])
                if access.can(Action.REVIEW)
                else reverse("article", args=[claim.article_id])
            )
        return redirect(target)
    context = {**_thread_context(access, claim), "comment_error": form.error_text()}
    # Errors come back as 200 so htmx swaps the thread and shows them where the user looks.
    response = render(request, "articles/review_claim.html#thread", context)
    if refused is None:
        trigger_client_event(response, "comment-posted", {"claim": str(claim.pk)})
    return response


def _comment(request: PageRequest, access: Access, claim: Claim, data: dict[str, Any]) -> None:
    services.comment_create(actor=request.user, claim=claim, role=access.role, text=data["text"])


# --- Claim history -------------------------------------------------------------------------

HISTORY_LIMIT = 500


@login_required
@require_GET
def claim_history(request: PageRequest, pk: str) -> HttpResponse:
    claim, access = selectors.claim_with_access(request.user, pk)
    access.ensure(Action.AUDIT)
    events = list(rs.claim_history(claim)[: HISTORY_LIMIT + 1])
    quotes = audit_names.claim_quotes(access.corpus, events[:HISTORY_LIMIT])
    for event in events:
        event.diff = rs.audit_diff(event.before, event.after)  # type: ignore[attr-defined]  # for the template
        audit_names.name_claims(event, quotes)
    context = {
        **team_context(access, "corpus-audit"),
        "claim": claim,
        "events": events[:HISTORY_LIMIT],
        "truncated": len(events) > HISTORY_LIMIT,
    }
    return render(request, "articles/claim_history.html", context)


urlpatterns = [
    path("corpora/<slug:slug>/review/", corpus_review, name="corpus-review"),
    path("claims/<str:pk>/review/", review_claim, name="review-claim"),
    path("claims/<str:pk>/review/undo", review_undo.review_undo, name="review-undo"),
    path("claims/<str:pk>/thread/", claim_thread, name="claim-thread"),
    path("claims/<str:pk>/history/", claim_history, name="claim-history"),
    *team.urlpatterns,
    *agreement_page.urlpatterns,
]
