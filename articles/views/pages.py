"""The pages around the annotation page: log in/out, the dashboard, a corpus, import."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import imports, selectors, services
from ..access import Access
from ..permissions import Action

ARTICLES_PER_PAGE = 50
# The importer's own list when it is there (it also names the formats in its refusals).
IMPORT_EXTENSIONS = tuple(getattr(imports, "EXTENSIONS", (".txt", ".md", ".html", ".jsonl")))

# The corpus's other pages: (url name, label, action needed). Shown only when the url exists
# (each is built in its own module) and the member's role has the right.
CORPUS_LINKS = [
    ("corpus-review", "Review", Action.REVIEW),
    ("corpus-agreement", "Agreement", Action.REVIEW),
    ("corpus-assignments", "Assignments", Action.ASSIGN),
    ("corpus-audit", "Audit log", Action.AUDIT),
    ("corpus-trash", "Trash", Action.MANAGE),
    ("corpus-settings", "Settings", Action.MANAGE),
]
EXPORT_FORMATS = [
    ("jsonl", "JSON Lines (native, lossless)"),
    ("w3c", "W3C Web Annotation"),
    ("brat", "brat standoff (zip)"),
    ("csv", "CSV"),
    ("aif", "Argument Interchange Format"),
]

STATUS_FILTERS = [
    ("", "Any status"),
    ("todo", "Not submitted by me"),
    ("mine-submitted", "Submitted by me"),
    ("submitted", "Submitted by someone"),
    ("unsubmitted", "Submitted by no one"),
]


def _reverse_or_none(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def corpus_links(access: Access, current: str = "corpus") -> list[dict[str, Any]]:
    """The corpus's sub-navigation for the member's role (other pages may include it too)."""
    slug = access.corpus.slug
    links = [{"name": "corpus", "label": "Articles", "url": reverse("corpus", args=[slug])}]
    for name, label, action in CORPUS_LINKS:
        url = _reverse_or_none(name, slug)
        allowed = access.may_see_agreement() if name == "corpus-agreement" else access.can(action)
        if url and allowed:
            links.append({"name": name, "label": label, "url": url})
    for link in links:
        link["current"] = link["name"] == current
    return links


def _is_partial(request: HttpRequest) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


# --- Dashboard -----------------------------------------------------------------------------


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _home_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    corpora = list(selectors.corpora_for_dashboard(request.user))
    for c in corpora:
        c.next_url = c.next_article_id and _reverse_or_none("article", c.next_article_id)
        c.n_my_todo = c.n_my_assigned - c.n_my_submitted
    next_up = next((c for c in corpora if c.next_article_id), None)
    return {"corpora": corpora, "next_up": next_up, "form": {}, "errors": {}, **extra}


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "articles/home.html", _home_context(request))


@login_required
@require_POST
def corpus_create(request: HttpRequest) -> HttpResponse:
    form = {
        key: request.POST.get(key, "")
        for key in ("name", "slug", "description", "topics", "claim_labels")
    }
    form["blind"] = request.POST.get("blind") == "on"
    errors: dict[str, list[str]] = {}
    topics = [{"label": label} for label in _lines(form["topics"])]
    if not topics:
        errors["topics"] = ["Add at least one topic: the proposition stances are taken toward."]
    else:
        try:
            corpus = services.corpus_create(
                actor=request.user,
                name=form["name"],
                slug=form["slug"].strip() or None,
                description=form["description"],
                blind=form["blind"],
                claim_labels=_lines(form["claim_labels"]),
                topics=topics,
            )
        except ValidationError as error:
            errors = error.message_dict
        except services.Conflict as error:
            errors = {"slug": [str(error)]}
        else:
            messages.success(request, f"Corpus “{corpus.name}” created. You are its owner.")
            return redirect("corpus", corpus.slug)
    context = _home_context(request, form=form, errors=errors, show_create=True)
    return render(request, "articles/home.html", context, status=400)


# --- Corpus: the article list ----------------------------------------------------------------


def _filters(request: HttpRequest, *, show_disagreements: bool) -> dict[str, Any]:
    status = request.GET.get("status", "")
    page = request.GET.get("page", "1")
    return {
        "q": request.GET.get("q", "").strip()[:200],
        "status": status if status in dict(STATUS_FILTERS) else "",
        "mine": request.GET.get("mine") == "1",
        "disagreements": show_disagreements and request.GET.get("disagreements") == "1",
        "page": page,
    }


def _filtered_articles(access: Access, filters: dict[str, Any]):
    articles = selectors.articles_for_corpus(access)
    if filters["show_disagreements"]:
        articles = articles.annotate(has_disagreement=selectors.article_has_disagreement())
    if filters["q"]:
        articles = articles.filter(
            Q(title__icontains=filters["q"]) | Q(text__icontains=filters["q"])
        )
    if filters["mine"]:
        articles = articles.filter(my_state__isnull=False)
    status = filters["status"]
    if status == "todo":
        articles = articles.exclude(my_state="submitted")
    elif status == "mine-submitted":
        articles = articles.filter(my_state="submitted")
    elif status == "submitted":
        articles = articles.filter(n_submitted__gt=0)
    elif status == "unsubmitted":
        articles = articles.filter(n_submitted=0)
    if filters["disagreements"]:
        articles = articles.filter(has_disagreement=True)
    return articles


def _corpus_context(request: HttpRequest, access: Access, **extra: Any) -> dict[str, Any]:
    corpus, role = access.corpus, access.role
    # In blind mode an annotator must not learn that others tagged differently.
    show_disagreements = access.show_disagreements()
    filters = _filters(request, show_disagreements=show_disagreements)
    filters["show_disagreements"] = show_disagreements
    articles = _filtered_articles(access, filters)
    page = Paginator(articles, ARTICLES_PER_PAGE).get_page(filters["page"])
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "corpus": corpus,
        "role": role,
        "page": page,
        "filters": filters,
        "status_filters": STATUS_FILTERS,
        "filtered": bool(
            filters["q"] or filters["status"] or filters["mine"] or filters["disagreements"]
        ),
        "query": query.urlencode(),
        "links": corpus_links(access),
        "topics": list(selectors.topics_for_corpus(corpus)),
        "can_import": access.can(Action.IMPORT),
        "export_url": access.can(Action.EXPORT)
        and _reverse_or_none("api-corpus-export", corpus.slug),
        "export_formats": EXPORT_FORMATS,
        "import_extensions": ",".join(IMPORT_EXTENSIONS),
        "import_max_bytes": settings.IMPORT_MAX_BYTES,
        "paste": {},
        **extra,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def corpus(request: HttpRequest, slug: str) -> HttpResponse:
    _corpus, access = selectors.corpus_with_access(request.user, slug)
    context = _corpus_context(request, access)
    template = "articles/corpus.html"
    if _is_partial(request):
        template += "#article-list"
    return render(request, template, context)


# --- Import ----------------------------------------------------------------------------------


def _import_report_response(
    request: HttpRequest, access: Access, report: dict[str, Any], status: int, paste: dict
) -> HttpResponse:
    context = _corpus_context(request, access, import_report=report, paste=paste, import_open=True)
    return render(request, "articles/corpus.html", context, status=status)


def _counts_sentence(result: Any) -> str:
    """'3 articles, 12 claims, 20 annotations' from an ImportResult's counts."""
    counts = result if isinstance(result, dict) else vars(result)
    parts = [
        f"{value} {name.replace('_', ' ') if value != 1 else name.removesuffix('s')}"
        for name, value in counts.items()
        if isinstance(value, int) and not isinstance(value, bool) and value
    ]
    return ", ".join(parts) or "nothing new"


def _every_field_error(data: dict[str, str]) -> list[tuple[None, str]]:
    """The service stops at the first bad field; the report lists them all."""
    reasons: list[tuple[None, str]] = []
    for field, value in data.items():
        try:
            services.clean_article_fields({field: value}, partial=True)
        except ValidationError as error:
            reasons += [(None, message) for message in error.messages]
        except services.PayloadTooLarge as error:
            reasons.append((None, str(error)))
    return reasons


def _import_pasted(request: HttpRequest, access: Access) -> tuple[str | None, list, int, dict]:
    paste = {
        key: request.POST.get(key, "")
        for key in ("title", "text", "author", "source_url", "published_on")
    }
    try:
        article = services.article_create(
            actor=request.user, corpus=access.corpus, role=access.role, **paste
        )
    except ValidationError:
        return None, _every_field_error(paste), 400, paste
    except services.PayloadTooLarge as error:
        return None, [(None, str(error))], 413, paste
    return f"Imported the article “{article.title}”.", [], 200, {}


def _import_files(
    request: HttpRequest, access: Access, files: list, title: str = ""
) -> tuple[str | None, list, int, int]:
    """All or nothing: every file is tried (so that the report lists every reason), and if any
    fails, the whole import is rolled back. Returns (success message or None, failures as
    (file, line, reason), HTTP status, problems beyond those listed). Bodies over IMPORT_MAX_BYTES
    never get here: the BodySizeLimitMiddleware answers 413 first, and the page checks the size
    before sending."""
    failed: list[tuple[str, int | None, str]] = []
    unlisted = 0
    status = 400
    done: list[str] = []
    if title and len(files) > 1:
        reason = "An article name is for one file: upload one file with it, or leave it empty."
        return None, [(None, None, reason)], 400, 0
    named = {"title": title} if title else {}
    with transaction.atomic():
        for upload in files:
            try:
                with transaction.atomic():
                    result = imports.import_file(
                        actor=request.user,
                        corpus=access.corpus,
                        role=access.role,
                        name=upload.name,
                        data=upload.read(),
                        **named,
                    )
            except imports.ImportFailed as error:
                failed += [(upload.name, line, reason) for line, reason in error.errors]
                more = getattr(error, "more", 0)
                if more:
                    failed.append((upload.name, None, f"… and {more:,} more problems."))
                    unlisted += more - 1
                status = max(status, getattr(error, "status", 400) or 400)
            else:
                done.append(f"{upload.name}: {_counts_sentence(result)}")
        if failed:
            transaction.set_rollback(True)
            return None, failed, status, unlisted
    return "Imported " + "; ".join(done) + ".", [], 200, 0


@login_required
@require_POST
def corpus_import(request: HttpRequest, slug: str) -> HttpResponse:
    corpus, access = selectors.corpus_with_access(request.user, slug)
    access.ensure(Action.IMPORT)
    try:
        files = request.FILES.getlist("files")
        post = request.POST
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        reason = f"The pasted text is over the {limit:,}-byte form limit."
        report = {"failed": [(None, None, reason)], "count": 1}
        return _import_report_response(request, access, report, 413, {})
    unlisted = 0
    if files:
        title = post.get("title", "").strip()
        success, failed, status, unlisted = _import_files(request, access, files, title)
        paste: dict = {}
    elif post.get("text", "").strip() or post.get("title", "").strip():
        success, reasons, status, paste = _import_pasted(request, access)
        failed = [(None, line, reason) for line, reason in reasons]
    else:
        success, status, paste = None, 400, {}
        failed = [(None, None, "Paste an article's title and text, or choose files to upload.")]
    if success is None:
        report = {"failed": failed, "count": len(failed) + unlisted}
        return _import_report_response(request, access, report, status, paste)
    messages.success(request, success)
    return redirect("corpus", corpus.slug)


urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home, name="home"),
    path("corpora/", corpus_create, name="corpus-create"),
    path("corpora/<slug:slug>/", corpus, name="corpus"),
    path("corpora/<slug:slug>/import/", corpus_import, name="corpus-import"),
]
