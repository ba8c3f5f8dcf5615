"""Pages of one claim across the corpus: the groups list, a group's page, similar-claim
suggestions (on the claim panel and the group page), "add to group", and argument maps.

Every read goes through the selectors with the caller's Access (404 to non-members; blind mode:
a blind annotator sees the groups and their claims, and only their own stances). Writes are
plain CSRF-protected POSTs for curators and owners that redirect back with a message; a refusal
shows the page again with the reason and its status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import argmap, group_selectors, selectors, services, similarity
from ..access import Access
from ..forms import PageForm
from ..group_forms import (
    ClaimToGroupForm,
    GroupClaimsForm,
    GroupCreateForm,
    GroupEditForm,
    GroupMergeForm,
    GroupSplitForm,
)
from ..models import Article, Claim, ClaimGroup
from ..permissions import Action
from .group_charts import timeline_chart
from .review_common import PageRequest, attempt, paginate, team_context

GROUPS_PER_PAGE = 50
SUGGESTIONS = 8

# --- Helpers ---------------------------------------------------------------------------------


def claim_url(claim_id: int, article_id: int) -> str:
    return f"{reverse('article', args=[article_id])}?claim={claim_id}#panel"


def _safe_next(request: PageRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def suggestions(access: Access, ranked: list[similarity.Similar]) -> list[dict[str, Any]]:
    """Similar claims as the pages show them: the claim, its article, its group, the score, and
    the stance the caller may see on it (similar meaning is not the same stance)."""
    details = group_selectors.similar_details([r.claim_id for r in ranked])
    stances = group_selectors.stances_of_claims(access, [r.claim_id for r in ranked])
    return [
        {
            "claim": details[r.claim_id],
            "score": r.score,
            "percent": max(0, round(r.score * 100)),
            "stances": stances[r.claim_id],
            "url": claim_url(r.claim_id, details[r.claim_id].article_id),
        }
        for r in ranked
    ]


# --- The groups of a corpus ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def groups_page(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = selectors.corpus_with_access(request.user, slug)
    status, form = 200, None
    if request.method == "POST":
        access.ensure(Action.REVIEW)
        form = GroupCreateForm(request.POST)
        created: list[ClaimGroup] = []

        def create(data: dict[str, Any]) -> str:
            created.append(
                services.group_create(actor=request.user, corpus=corpus, role=access.role, **data)
            )
            return f"Created the group “{created[0].label}”."

        refused = attempt(request, form, create)
        if refused is None:
            return redirect("claim-group", created[0].pk)
        status = refused
    context = {
        **team_context(access, "claim-groups"),
        "page": paginate(request, group_selectors.groups_for_corpus(access), GROUPS_PER_PAGE),
        "can_write": access.can(Action.REVIEW),
        "form": form.values if form else {},
        "errors": form.error_map if form else {},
    }
    return render(request, "articles/claim_groups.html", context, status=status)


# --- One group -------------------------------------------------------------------------------

Run = Callable[[PageRequest, Access, ClaimGroup, dict[str, Any]], tuple[str, str | None]]


def _edit(request: PageRequest, access: Access, group: ClaimGroup, data: dict) -> tuple:
    services.group_update(actor=request.user, group=group, role=access.role, **data)
    return "Saved the group.", None


def _add(request: PageRequest, access: Access, group: ClaimGroup, data: dict) -> tuple:
    services.group_add_claims(actor=request.user, group=group, role=access.role, **data)
    return "Added to the group.", None


def _remove(request: PageRequest, access: Access, group: ClaimGroup, data: dict) -> tuple:
    services.group_remove_claims(actor=request.user, group=group, role=access.role, **data)
    return "Removed from the group.", None


def _group_named(request: PageRequest, access: Access, value: object, field: str) -> ClaimGroup:
    """A group of the same corpus named in the form, or a 400 naming the field."""
    try:
        group, group_access = group_selectors.group_with_access(request.user, value)
    except Http404:
        group_access = None
    if group_access is None or group_access.corpus.pk != access.corpus.pk:
        raise ValidationError({field: ["Choose a group of this corpus."]})
    return group


def _merge(request: PageRequest, access: Access, group: ClaimGroup, data: dict) -> tuple:
    other = _group_named(request, access, data.pop("other"), "other")
    services.group_merge(actor=request.user, group=group, other=other, role=access.role, **data)
    return f"Merged “{other.label}” into this group.", None


def _split(request: PageRequest, access: Access, group: ClaimGroup, data: dict) -> tuple:
    new = services.group_split(actor=request.user, group=group, role=access.role, **data)
    return f"Moved the chosen claims to the new group “{new.label}”.", None


def _delete(request: PageRequest, access: Access, group: ClaimGroup, data: dict) -> tuple:
    services.group_delete(actor=request.user, group=group, role=access.role, **data)
    return "Deleted the group; its claims are in no group now.", reverse(
        "claim-groups", args=[access.corpus.slug]
    )


GROUP_ACTIONS: dict[str, tuple[type[PageForm], Run]] = {
    "edit": (GroupEditForm, _edit),
    "add": (GroupClaimsForm, _add),
    "remove": (GroupClaimsForm, _remove),
    "merge": (GroupMergeForm, _merge),
    "split": (GroupSplitForm, _split),
    "delete": (GroupMergeForm, _delete),
}


def _group_post(
    request: PageRequest, access: Access, group: ClaimGroup
) -> tuple[HttpResponse | None, PageForm | None, int]:
    access.ensure(Action.REVIEW)
    action = request.POST.get("action", "")
    if action not in GROUP_ACTIONS:
        messages.error(request, "Unknown action.")
        return None, None, 400
    form_class, run = GROUP_ACTIONS[action]
    form = form_class(request.POST)
    goes_to: list[str | None] = []

    def act(data: dict[str, Any]) -> str:
        if action == "delete":
            data = {"version": data.get("version")}
        message, where = run(request, access, group, data)
        goes_to.append(where)
        return message

    refused = attempt(request, form, act, as_message=action != "edit")
    if refused is None:
        return redirect(goes_to[0] or reverse("claim-group", args=[group.pk])), form, 302
    return None, form, refused


@login_required
@require_http_methods(["GET", "POST"])
def group_page(request: PageRequest, pk: int) -> HttpResponse:
    group, access = group_selectors.group_with_access(request.user, pk)
    status, form = 200, None
    if request.method == "POST":
        response, form, status = _group_post(request, access, group)
        if response is not None:
            return response
        group.refresh_from_db()
    items = group_selectors.group_claims(access, group)
    ids = [item.claim.pk for item in items]
    can_write = access.can(Action.REVIEW)
    context = {
        **team_context(access, "claim-groups"),
        "group": group,
        "items": [
            {"item": item, "url": claim_url(item.claim.pk, item.claim.article_id)} for item in items
        ],
        "n_articles": len({item.claim.article_id for item in items}),
        "chart": timeline_chart(group_selectors.stance_timeline(items)),
        "relations": [
            {
                "relation": r,
                "source_url": claim_url(r.source_claim_id, r.source_claim.article_id),
                "target_url": claim_url(r.target_claim_id, r.target_claim.article_id),
                "source_in": r.source_claim_id in ids,
                "target_in": r.target_claim_id in ids,
            }
            for r in group_selectors.relations_of_claims(access, ids)
        ],
        "suggestions": suggestions(
            access, similarity.similar_to_claims(access, ids, limit=SUGGESTIONS)
        )
        if ids
        else [],
        "can_write": can_write,
        "other_groups": list(
            ClaimGroup.objects.filter(corpus=access.corpus).exclude(pk=group.pk).order_by("label")
        )
        if can_write
        else [],
        "form": form.values if form else {},
        "errors": form.error_map if form else {},
    }
    return render(request, "articles/claim_group.html", context, status=status)


# --- From a claim: suggestions and "add to group" -------------------------------------------


@login_required
@require_GET
def claim_similar(request: PageRequest, pk: int) -> HttpResponse:
    """The claim panel's suggestions (an htmx fragment, also a plain page)."""
    claim, access = selectors.claim_with_access(request.user, pk)
    ranked = similarity.similar_claim_ids(access, claim, limit=SUGGESTIONS)
    own_group = group_selectors.groups_of_claims([claim.pk]).get(claim.pk)
    context = {
        "claim": claim,
        "suggestions": suggestions(access, ranked),
        "own_group": own_group,
        "can_write": access.can(Action.REVIEW),
        "groups": list(
            ClaimGroup.objects.filter(corpus=access.corpus).order_by("label").values("id", "label")
        )
        if access.can(Action.REVIEW) and own_group is None
        else [],
        "next": claim_url(claim.pk, claim.article_id),
    }
    if request.htmx:
        return render(request, "articles/_similar_claims.html", context)
    return render(request, "articles/claim_similar.html", {**team_context(access, ""), **context})


@login_required
@require_POST
def claim_to_group(request: PageRequest, pk: int) -> HttpResponse:
    """Put the claim (and `with_claim`, a suggestion) in an existing group or a new one."""
    claim, access = selectors.claim_with_access(request.user, pk)
    access.ensure(Action.REVIEW)
    form = ClaimToGroupForm(request.POST)
    fallback = claim_url(claim.pk, claim.article_id)

    def act(data: dict[str, Any]) -> str:
        wanted = [str(claim.pk)] + ([str(data["with_claim"])] if data["with_claim"] else [])
        if data["group"]:
            group = _group_named(request, access, data["group"], "group")
            present = set(group_selectors.group_claim_ids(group))
            adding = [i for i in wanted if int(i) not in present]
            if adding:
                services.group_add_claims(
                    actor=request.user, group=group, role=access.role, claims=adding
                )
            return f"Added to the group “{group.label}”."
        group = services.group_create(
            actor=request.user,
            corpus=access.corpus,
            role=access.role,
            label=data["label"] or "",
            claims=wanted,
        )
        return f"Created the group “{group.label}”."

    attempt(request, form, act, as_message=True)
    return redirect(_safe_next(request, fallback))


# --- Argument maps ---------------------------------------------------------------------------


def _nodes(access: Access, claims: list[Claim], *, notes: bool, highlight: set[int]) -> list:
    stances = group_selectors.stances_of_claims(access, [c.pk for c in claims])
    return [
        argmap.MapNode(
            id=c.pk,
            label=argmap.node_label(c.summary, c.exact),
            stance=stances[c.pk].shown,
            source=stances[c.pk].source,
            href=claim_url(c.pk, c.article_id),
            note=c.article.title if notes else "",
            highlight=c.pk in highlight,
        )
        for c in claims
    ]


def article_map_svg_text(access: Access, article: Article, *, standalone: bool) -> str:
    claims = list(
        Claim.objects.alive().filter(article=article).select_related("article").in_text_order()
    )
    edges = [
        argmap.MapEdge(rid, s, t, kind)
        for rid, s, t, kind in group_selectors.relations_between(access, [c.pk for c in claims])
    ]
    nodes = _nodes(access, claims, notes=False, highlight=set())
    return argmap.render(
        nodes, edges, title=f"Argument map of “{article.title}”", standalone=standalone
    )


def group_map_svg_text(access: Access, group: ClaimGroup, *, standalone: bool) -> str:
    """The group's claims and the claims their visible relations connect them with."""
    ids = group_selectors.group_claim_ids(group)
    relations = list(group_selectors.relations_of_claims(access, ids))
    wanted = (
        set(ids) | {r.source_claim_id for r in relations} | {r.target_claim_id for r in relations}
    )
    claims = list(
        Claim.objects.alive()
        .filter(pk__in=wanted, article__deleted_at__isnull=True)
        .select_related("article")
        .order_by("article__published_on", "article_id", "start", "id")
    )
    edges = [argmap.MapEdge(r.pk, r.source_claim_id, r.target_claim_id, r.kind) for r in relations]
    nodes = _nodes(access, claims, notes=True, highlight=set(ids))
    return argmap.render(
        nodes, edges, title=f"Argument map of the group “{group.label}”", standalone=standalone
    )


def _svg(markup: str) -> HttpResponse:
    response = HttpResponse(markup, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = "inline"
    return response


@login_required
@require_GET
def article_map_svg(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    return _svg(article_map_svg_text(access, article, standalone=True))


@login_required
@require_GET
def group_map_svg(request: PageRequest, pk: int) -> HttpResponse:
    group, access = group_selectors.group_with_access(request.user, pk)
    return _svg(group_map_svg_text(access, group, standalone=True))


@login_required
@require_GET
def article_map(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    context = {
        **team_context(access, ""),
        "heading": f"Argument map: {article.title}",
        "back_url": reverse("article", args=[article.pk]),
        "back_label": "Back to the article",
        "svg_url": reverse("article-map-svg", args=[article.pk]),
        # Escaped by argmap (every user text goes through argmap.esc).
        "svg": mark_safe(article_map_svg_text(access, article, standalone=False)),  # noqa: S308
    }
    return render(request, "articles/argument_map.html", context)


@login_required
@require_GET
def group_map(request: PageRequest, pk: int) -> HttpResponse:
    group, access = group_selectors.group_with_access(request.user, pk)
    context = {
        **team_context(access, "claim-groups"),
        "heading": f"Argument map: {group.label}",
        "back_url": reverse("claim-group", args=[group.pk]),
        "back_label": "Back to the group",
        "svg_url": reverse("claim-group-map-svg", args=[group.pk]),
        "svg": mark_safe(group_map_svg_text(access, group, standalone=False)),  # noqa: S308
    }
    return render(request, "articles/argument_map.html", context)


urlpatterns = [
    path("corpora/<slug:slug>/claim-groups/", groups_page, name="claim-groups"),
    path("claim-groups/<int:pk>/", group_page, name="claim-group"),
    path("claim-groups/<int:pk>/map", group_map, name="claim-group-map"),
    path("claim-groups/<int:pk>/map.svg", group_map_svg, name="claim-group-map-svg"),
    path("claims/<int:pk>/similar", claim_similar, name="claim-similar"),
    path("claims/<int:pk>/group", claim_to_group, name="claim-to-group"),
    path("articles/<int:pk>/map", article_map, name="article-map"),
    path("articles/<int:pk>/map.svg", article_map_svg, name="article-map-svg"),
]
