"""Team pages of a corpus: settings (topics, members), work distribution, audit log, trash.

Thin views: read through selectors, write through services, report every refusal as a message
the user can act on. Every form is a plain POST (CSRF-protected) that redirects back, so the
pages work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from .. import review_selectors as rs
from .. import selectors, services
from ..access import Access
from ..models import Corpus, Role
from ..permissions import Action
from .review_common import corpus_for, error_map, error_text, paginate, team_context

ROLE_CHOICES = [(r.value, r.label) for r in (Role.VIEWER, Role.ANNOTATOR, Role.CURATOR, Role.OWNER)]
ROLE_HELP = {
    Role.VIEWER: "reads everything, changes nothing",
    Role.ANNOTATOR: "marks claims, tags their own annotations, comments",
    Role.CURATOR: "also reviews claims, assigns work, reads the audit log",
    Role.OWNER: "also manages settings, topics, members, import, export and the trash",
}


def _back(url_name: str, corpus: Corpus, anchor: str = "", query: str = "") -> HttpResponse:
    url = reverse(url_name, args=[corpus.slug])
    return redirect(f"{url}{'?' + query if query else ''}{'#' + anchor if anchor else ''}")


def _run(request: HttpRequest, action: Callable[[], str | None]) -> bool:
    """Run a service call; a success message on success, the refusal as an error message."""
    try:
        message = action()
    except ValidationError as error:
        messages.error(request, error_text(error))
        return False
    except (services.Conflict, services.StaleVersion) as error:
        messages.error(request, str(error))
        return False
    if message:
        messages.success(request, message)
    return True


# --- Settings ------------------------------------------------------------------------------


def _labels_from(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@login_required
@require_http_methods(["GET", "POST"])
def corpus_settings(request: HttpRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.MANAGE)
    role = access.role
    values: dict | None = None
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        action = post.get("action", "")
        if action in ("corpus", "open_review"):
            changes = (
                {"blind": False}
                if action == "open_review"
                else {
                    "name": post.get("name", ""),
                    "description": post.get("description", ""),
                    "blind": post.get("blind") == "on",
                    "claim_labels": _labels_from(post.get("claim_labels", "")),
                }
            )
            try:
                services.corpus_update(
                    actor=request.user,
                    corpus=corpus,
                    role=role,
                    version=post.get("version"),
                    **changes,
                )
            except ValidationError as error:
                errors, status = error_map(error), 400
            except services.StaleVersion as error:
                errors, status = {"form": [str(error)]}, 409
            else:
                messages.success(
                    request,
                    "Review is open: annotators now see each other's tags."
                    if action == "open_review"
                    else "Saved the corpus settings.",
                )
                return _back("corpus-settings", corpus)
            values = {**changes, "claim_labels": "\n".join(changes.get("claim_labels", []))}
            corpus, access = selectors.corpus_with_access(request.user, slug)
        elif action.startswith("topic_"):
            _topic_action(request, access, action)
            return _back("corpus-settings", corpus, "topics")
        elif action.startswith("member_"):
            username = post.get("username", "").strip()
            ok = _member_action(request, access, action, username)
            if ok and username == request.user.username and action != "member_add":
                # The caller changed their own role: this page may no longer be theirs.
                return (
                    redirect("home")
                    if action == "member_remove"
                    else redirect("corpus", corpus.slug)
                )
            return _back("corpus-settings", corpus, "members")
        else:
            messages.error(request, "Unknown action.")
            return _back("corpus-settings", corpus)
    context = {
        **team_context(access, "corpus-settings"),
        "values": values
        or {
            "name": corpus.name,
            "description": corpus.description,
            "blind": corpus.blind,
            "claim_labels": "\n".join(corpus.claim_labels),
        },
        "errors": errors,
        "topics": list(rs.topics_with_use(corpus)),
        "members": list(selectors.members_for_corpus(corpus)),
        "roles": ROLE_CHOICES,
        "role_help": [(Role(r).label, ROLE_HELP[Role(r)]) for r, _ in ROLE_CHOICES],
    }
    return render(request, "articles/corpus_settings.html", context, status=status)


def _topic_action(request: HttpRequest, access: Access, action: str) -> None:
    post, corpus, role, actor = request.POST, access.corpus, access.role, request.user
    if action == "topic_add":
        _run(
            request,
            lambda: (
                services.topic_create(
                    actor=actor,
                    corpus=corpus,
                    role=role,
                    label=post.get("label", ""),
                    description=post.get("description", ""),
                )
                and f"Added the topic “{post.get('label', '').strip()}”."
            ),
        )
        return
    topic = rs.topic_in_corpus(corpus, post.get("topic"))
    if action == "topic_update":
        _run(
            request,
            lambda: (
                services.topic_update(
                    actor=actor,
                    topic=topic,
                    role=role,
                    version=post.get("version"),
                    label=post.get("label", ""),
                    description=post.get("description", ""),
                )
                and "Saved the topic."
            ),
        )
    elif action == "topic_delete":
        _run(
            request,
            lambda: (
                services.topic_delete(actor=actor, topic=topic, role=role)
                or f"Deleted the topic “{topic.label}”."
            ),
        )
    else:
        messages.error(request, "Unknown action.")


def _member_action(request: HttpRequest, access: Access, action: str, username: str) -> bool:
    post, corpus, role, actor = request.POST, access.corpus, access.role, request.user
    if action == "member_add":
        return _run(
            request,
            lambda: (
                (
                    m := services.membership_add(
                        actor=actor,
                        corpus=corpus,
                        role=role,
                        username=username,
                        new_role=post.get("role", ""),
                    )
                )
                and f"{m.user.username} joined as {m.get_role_display().lower()}."
            ),
        )
    membership = rs.membership_in_corpus(corpus, username)
    if action == "member_role":
        return _run(
            request,
            lambda: (
                (
                    m := services.membership_update(
                        actor=actor, membership=membership, role=role, new_role=post.get("role", "")
                    )
                )
                and f"{m.user.username} is now {m.get_role_display().lower()}."
            ),
        )
    if action == "member_remove":
        return _run(
            request,
            lambda: (
                services.membership_remove(actor=actor, membership=membership, role=role)
                or f"Removed {membership.user.username} from the corpus."
            ),
        )
    messages.error(request, "Unknown action.")
    return False


# --- Assignments ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def corpus_assignments(request: HttpRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.ASSIGN)
    if request.method == "POST":
        _assignment_action(request, access)
        query = f"page={request.POST['page']}" if request.POST.get("page", "").isdigit() else ""
        return _back("corpus-assignments", corpus, request.POST.get("anchor", ""), query)
    members = rs.assignable_members(corpus)
    page = paginate(request, rs.articles_with_assignments(corpus), 50)
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
    return render(request, "articles/assignments.html", context)


def _assignment_action(request: HttpRequest, access: Access) -> None:
    post, corpus, role, actor = request.POST, access.corpus, access.role, request.user
    action = post.get("action", "")
    if action == "assign":
        article, _article_access = selectors.article_with_access(actor, post.get("article"))
        if article.corpus_id != corpus.pk:
            messages.error(request, "That article is not in this corpus.")
            return
        _run(
            request,
            lambda: (
                (
                    a := services.assignment_create(
                        actor=actor, article=article, role=role, annotator=post.get("annotator", "")
                    )
                )
                and f"Gave “{article.title}” to {a.annotator.username}."
            ),
        )
    elif action == "unassign":
        assignment = rs.assignment_in_corpus(corpus, post.get("assignment"))
        _run(
            request,
            lambda: (
                services.assignment_delete(actor=actor, assignment=assignment, role=role)
                or f"Took “{assignment.article.title}” back from {assignment.annotator.username}."
            ),
        )
    elif action == "balance":
        chosen = post.getlist("annotators")

        def balance() -> str:
            created = services.assignments_balance(
                actor=actor,
                corpus=corpus,
                role=role,
                per_article=post.get("per_article"),
                annotators=chosen or None,
            )
            if not created:
                return "Nothing to do: every article has its annotators already."
            return (
                f"Created {len(created)} assignments: every article now has "
                f"{post.get('per_article')} annotators."
            )

        _run(request, balance)
    else:
        messages.error(request, "Unknown action.")


# --- Audit log -----------------------------------------------------------------------------


@login_required
@require_GET
def corpus_audit(request: HttpRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.AUDIT)
    filters = rs.AuditFilters.from_query(request.GET)
    for problem in filters.errors:
        messages.warning(request, problem)
    page = paginate(request, rs.audit_events(corpus, filters), 50)
    for event in page.object_list:
        event.diff = rs.audit_diff(event.before, event.after)
    context = {
        **team_context(access, "corpus-audit"),
        "page": page,
        "filters": filters,
        "query": filters.querystring(),
        "options": rs.audit_filter_options(corpus),
    }
    return render(request, "articles/audit.html", context)


# --- Trash ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def corpus_trash(request: HttpRequest, slug: str) -> HttpResponse:
    corpus, access = corpus_for(request, slug, Action.MANAGE)
    if request.method == "POST":
        _trash_action(request, access)
        return _back("corpus-trash", corpus)
    context = {
        **team_context(access, "corpus-trash"),
        "articles": paginate(request, rs.trashed_articles(corpus), 50, "apage"),
        "claims": paginate(request, rs.trashed_claims(corpus), 50, "cpage"),
    }
    return render(request, "articles/trash.html", context)


def _trash_action(request: HttpRequest, access: Access) -> None:
    post, corpus, role, actor = request.POST, access.corpus, access.role, request.user
    action = post.get("action", "")
    if action in ("restore_article", "purge_article"):
        article = rs.trashed_article_get(corpus, post.get("article"))
        if action == "restore_article":
            _run(
                request,
                lambda: (
                    services.article_restore(actor=actor, article=article, role=role)
                    or f"Restored “{article.title}” with the claims deleted together with it."
                ),
            )
        elif post.get("confirm") != "yes":
            messages.error(request, "Tick the box to confirm: purging cannot be undone.")
        else:
            _run(
                request,
                lambda: (
                    services.article_purge(actor=actor, article=article, role=role)
                    or f"Purged “{article.title}” for good."
                ),
            )
    elif action == "restore_claim":
        claim = rs.trashed_claim_get(corpus, post.get("claim"))
        _run(
            request,
            lambda: (
                services.claim_restore(actor=actor, claim=claim, role=role)
                or f"Restored the claim “{claim.exact[:60]}”."
            ),
        )
    else:
        messages.error(request, "Unknown action.")


urlpatterns = [
    path("corpora/<slug:slug>/settings/", corpus_settings, name="corpus-settings"),
    path("corpora/<slug:slug>/assignments/", corpus_assignments, name="corpus-assignments"),
    path("corpora/<slug:slug>/audit/", corpus_audit, name="corpus-audit"),
    path("corpora/<slug:slug>/trash/", corpus_trash, name="corpus-trash"),
]
