"""Team pages of a corpus: settings (topics, members), work distribution, audit log, trash.

Thin views: a form parses each POST, a service decides, `attempt` turns the outcome into the
page's answer. Every form is a plain POST (CSRF-protected): on success it redirects back with a
message (the pages work without JavaScript); a refusal shows the page again with the reason and
the status it deserves (400, 409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from .. import review_selectors as rs
from .. import selectors, services
from ..access import Access
from ..filters.pages import AuditFilterSet
from ..forms import (
    AssignForm,
    AssignmentsForm,
    BalanceForm,
    CorpusSettingsForm,
    MemberForm,
    MemberRoleForm,
    PageForm,
    PurgeForm,
    TopicAddForm,
    TopicEditForm,
    TopicForm,
    TrashedArticleForm,
    TrashedClaimForm,
    UnassignForm,
    VersionedForm,
)
from ..models import Corpus, Role
from ..permissions import Action
from . import audit_names
from .review_common import PageRequest, attempt, corpus_for, paginate, team_context

ROLE_CHOICES = [(r.value, r.label) for r in (Role.VIEWER, Role.ANNOTATOR, Role.CURATOR, Role.OWNER)]
ROLE_HELP = {
    Role.VIEWER: "reads everything, changes nothing",
    Role.ANNOTATOR: "marks claims, tags their own annotations, comments",
    Role.CURATOR: "also reviews claims, assigns work, reads the audit log",
    Role.OWNER: "also manages settings, topics, members, import, export and the trash",
}

# A page's POST action: the form that parses it, and the service call it makes, as
# (request, access, cleaned data) -> the success message.
Run = Callable[[PageRequest, Access, dict[str, Any]], str]
Actions = dict[str, tuple[type[PageForm], Run]]


def _back(url_name: str, corpus: Corpus, anchor: str = "", query: str = "") -> HttpResponse:
    url = reverse(url_name, args=[corpus.slug])
    return redirect(f"{url}{'?' + query if query else ''}{'#' + anchor if anchor else ''}")


def _post(
    request: PageRequest, access: Access, actions: Actions, *, as_message: bool = True
) -> tuple[str, PageForm | None, int | None]:
    """Run the POST's action: (action, its form, None on success or the refusal's status). An
    unknown action is a 400 with no form."""
    action = request.POST.get("action", "")
    if action not in actions:
        messages.error(request, "Unknown action.")
        return action, None, 400
    form_class, run = actions[action]
    form = form_class(request.POST)
    status = attempt(request, form, lambda data: run(request, access, data), as_message=as_message)
    return action, form, status


# --- Settings ------------------------------------------------------------------------------


def _save_corpus(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    services.corpus_update(
        actor=request.user,
        corpus=access.corpus,
        role=access.role,
        version=data["version"],
        name=data["name"],
        description=data["description"],
        blind=data["blind"],
        claim_labels=data["claim_labels"],
    )
    return "Saved the corpus settings."


def _open_review(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    services.corpus_update(
        actor=request.user,
        corpus=access.corpus,
        role=access.role,
        version=data["version"],
        blind=False,
    )
    return "Review is open: annotators now see each other's tags."


def _add_topic(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    topic = services.topic_create(
        actor=request.user,
        corpus=access.corpus,
        role=access.role,
        label=data["label"],
        description=data["description"],
    )
    return f"Added the topic “{topic.label}”."


def _edit_topic(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    services.topic_update(
        actor=request.user,
        topic=rs.topic_in_corpus(access.corpus, data["topic"]),
        role=access.role,
        version=data["version"],
        label=data["label"],
        description=data["description"],
    )
    return "Saved the topic."


def _delete_topic(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    topic = rs.topic_in_corpus(access.corpus, data["topic"])
    services.topic_delete(actor=request.user, topic=topic, role=access.role)
    return f"Deleted the topic “{topic.label}”."


def _add_member(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    membership = services.membership_add(
        actor=request.user,
        corpus=access.corpus,
        role=access.role,
        username=data["username"],
        new_role=data["role"],
    )
    return f"{membership.user.username} joined as {membership.get_role_display().lower()}."


def _change_role(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    membership = services.membership_update(
        actor=request.user,
        membership=rs.membership_in_corpus(access.corpus, data["username"]),
        role=access.role,
        new_role=data["role"],
    )
    return f"{membership.user.username} is now {membership.get_role_display().lower()}."


def _remove_member(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    membership = rs.membership_in_corpus(access.corpus, data["username"])
    services.membership_remove(actor=request.user, membership=membership, role=access.role)
    return f"Removed {membership.user.username} from the corpus."


SETTINGS_ACTIONS: Actions = {
    "corpus": (CorpusSettingsForm, _save_corpus),
    "open_review": (VersionedForm, _open_review),
    "topic_add": (TopicAddForm, _add_topic),
    "topic_update": (TopicEditForm, _edit_topic),
    "topic_delete": (TopicForm, _delete_topic),
    "member_add": (MemberRoleForm, _add_member),
    "member_role": (MemberRoleForm, _change_role),
    "member_remove": (MemberForm, _remove_member),
}
SETTINGS_ANCHORS = {"topic": "topics", "member": "members"}


@login_required
@require_http_methods(["GET", "POST"])
def corpus_settings(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.MANAGE)
    if request.method == "GET":
        return _settings_page(request, access)
    # The corpus form shows its mistakes beside its fields; the others' rows, as a message.
    as_message = request.POST.get("action") not in ("corpus", "open_review")
    action, form, status = _post(request, access, SETTINGS_ACTIONS, as_message=as_message)
    if status is not None:
        # Shown again as it stands now (a stale version is the current one in the new form).
        _corpus, access = corpus_for(request, slug, Action.MANAGE)
        return _settings_page(request, access, None if as_message else form, status)
    username = form.cleaned_data.get("username") if form else None
    if action in ("member_role", "member_remove") and username == request.user.username:
        # The caller changed their own role: this page may no longer be theirs.
        return redirect("home") if action == "member_remove" else redirect("corpus", corpus.slug)
    return _back("corpus-settings", corpus, SETTINGS_ANCHORS.get(action.split("_")[0], ""))


def _settings_page(
    request: PageRequest, access: Access, form: PageForm | None = None, status: int = 200
) -> HttpResponse:
    """The settings; with `form`, the corpus form (or the open-review button) refused."""
    corpus = access.corpus
    values = (
        form.values
        if isinstance(form, CorpusSettingsForm)
        else {
            "name": corpus.name,
            "description": corpus.description,
            "blind": corpus.blind,
            "claim_labels": "\n".join(corpus.claim_labels),
        }
    )
    context = {
        **team_context(access, "corpus-settings"),
        "values": values,
        "errors": form.error_map if form else {},
        "topics": list(rs.topics_with_use(corpus)),
        "members": list(selectors.members_for_corpus(corpus)),
        "invitations": list(selectors.invitations_open(corpus)),
        "now": timezone.now(),
        "roles": ROLE_CHOICES,
        "role_help": [(Role(r).label, ROLE_HELP[Role(r)]) for r, _ in ROLE_CHOICES],
    }
    return render(request, "articles/corpus_settings.html", context, status=status)


# --- Assignments ---------------------------------------------------------------------------


def _assign(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    article, _article_access = selectors.article_with_access(request.user, data["article"])
    if article.corpus_id != access.corpus.pk:
        raise ValidationError({"article": ["That article is not in this corpus."]})
    assignment = services.assignment_create(
        actor=request.user, article=article, role=access.role, annotator=data["annotator"]
    )
    return f"Gave “{article.title}” to {assignment.annotator.username}."


def _unassign(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    assignment = rs.assignment_in_corpus(access.corpus, data["assignment"])
    services.assignment_delete(actor=request.user, assignment=assignment, role=access.role)
    return f"Took “{assignment.article.title}” back from {assignment.annotator.username}."


def _balance(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    created = services.assignments_balance(
        actor=request.user,
        corpus=access.corpus,
        role=access.role,
        per_article=data["per_article"],
        annotators=data["annotators"] or None,
    )
    if not created:
        return "Nothing to do: every article has its annotators already."
    return (
        f"Created {len(created)} assignments: every article now has "
        f"{data['per_article']} annotators."
    )


ASSIGNMENT_ACTIONS: Actions = {
    "assign": (AssignForm, _assign),
    "unassign": (UnassignForm, _unassign),
    "balance": (BalanceForm, _balance),
}


@login_required
@require_http_methods(["GET", "POST"])
def corpus_assignments(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.ASSIGN)
    page_number = None
    status = 200
    if request.method == "POST":
        _action, form, refused = _post(request, access, ASSIGNMENT_ACTIONS)
        query, anchor = form.back() if isinstance(form, AssignmentsForm) else ("", "")
        if refused is None:
            return _back("corpus-assignments", corpus, anchor, query)
        page_number, status = query.removeprefix("page=") or None, refused
    members = rs.assignable_members(corpus)
    page = paginate(request, rs.articles_with_assignments(corpus), 50, number=page_number)
    for article in page.object_list:
        taken = {a.annotator_id for a in article.work}
        article.n_done = sum(a.state == "submitted" for a in article.work)
        article.free = [m.user for m in members if m.user_id not in taken]
    progress = rs.annotator_progress(corpus, members)
    context = {
        **team_context(access, "corpus-assignments"),
        "page": page,
        "progress": progress,
        "members": members,
        "suggested_n": min(2, len(members)) or 1,
    }
    return render(request, "articles/assignments.html", context, status=status)


# --- Audit log -----------------------------------------------------------------------------


@login_required
@require_GET
def corpus_audit(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.AUDIT)
    filters = AuditFilterSet(request.GET, rs.audit_events(corpus))
    for problem in filters.warnings:
        messages.warning(request, problem)
    page = paginate(request, filters.qs, 50)
    quotes = audit_names.claim_quotes(corpus, page.object_list)
    for event in page.object_list:
        event.diff = rs.audit_diff(event.before, event.after)
        audit_names.name_claims(event, quotes)
    context = {
        **team_context(access, "corpus-audit"),
        "page": page,
        "filters": filters.values,
        "query": filters.querystring(),
        "options": rs.audit_filter_options(corpus),
    }
    return render(request, "articles/audit.html", context)


# --- Trash ---------------------------------------------------------------------------------


def _restore_article(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    article = rs.trashed_article_get(access.corpus, data["article"])
    services.article_restore(actor=request.user, article=article, role=access.role)
    return f"Restored “{article.title}” with the claims deleted together with it."


def _purge_article(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    article = rs.trashed_article_get(access.corpus, data["article"])
    services.article_purge(actor=request.user, article=article, role=access.role)
    return f"Purged “{article.title}” for good."


def _restore_claim(request: PageRequest, access: Access, data: dict[str, Any]) -> str:
    claim = rs.trashed_claim_get(access.corpus, data["claim"])
    services.claim_restore(actor=request.user, claim=claim, role=access.role)
    return f"Restored the claim “{claim.exact[:60]}”."


TRASH_ACTIONS: Actions = {
    "restore_article": (TrashedArticleForm, _restore_article),
    "purge_article": (PurgeForm, _purge_article),
    "restore_claim": (TrashedClaimForm, _restore_claim),
}


@login_required
@require_http_methods(["GET", "POST"])
def corpus_trash(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.MANAGE)
    status = 200
    if request.method == "POST":
        _action, _form, refused = _post(request, access, TRASH_ACTIONS)
        if refused is None:
            return _back("corpus-trash", corpus)
        status = refused
    context = {
        **team_context(access, "corpus-trash"),
        "articles": paginate(request, rs.trashed_articles(corpus), 50, "apage"),
        "claims": paginate(request, rs.trashed_claims(corpus), 50, "cpage"),
    }
    return render(request, "articles/trash.html", context, status=status)


urlpatterns = [
    path("corpora/<slug:slug>/settings/", corpus_settings, name="corpus-settings"),
    path("corpora/<slug:slug>/assignments/", corpus_assignments, name="corpus-assignments"),
    path("corpora/<slug:slug>/audit/", corpus_audit, name="corpus-audit"),
    path("corpora/<slug:slug>/trash/", corpus_trash, name="corpus-trash"),
]
