"""The pages around the annotation page: log in/out, the dashboard, a corpus, import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import imports, selectors, services
from ..access import Access, Kind
from ..filters.pages import STATUS_FILTERS, CorpusArticleFilterSet
from ..forms import ARTICLE_FIELDS, ArticleImportForm, CorpusCreateForm
from ..models import Corpus, Role
from ..permissions import Action
from .review_common import (
    CORPUS_LINKS,
    PageRequest,
    attempt,
    corpus_links,
    paginate,
    reverse_or_none,
)

__all__ = ["CORPUS_LINKS", "corpus_links", "reverse_or_none", "urlpatterns"]

ARTICLES_PER_PAGE = 50
# The importer's own list when it is there (it also names the formats in its refusals).
IMPORT_EXTENSIONS = tuple(getattr(imports, "EXTENSIONS", (".txt", ".md", ".html", ".jsonl")))

EXPORT_FORMATS = [
    ("jsonl", "JSON Lines (native, lossless)"),
    ("w3c", "W3C Web Annotation"),
    ("brat", "brat standoff (zip)"),
    ("csv", "CSV"),
    ("aif", "Argument Interchange Format"),
]


def _is_partial(request: PageRequest) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


# --- Dashboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardCard:
    """One corpus on the dashboard: what the card computes from the member's role, and the
    corpus row with its counts (`selectors.corpora_for_dashboard`'s annotations) behind it."""

    corpus: Corpus
    next_url: str | None
    n_my_todo: int
    shows_team: bool  # besides the member's own work, by what their role may see
    shows_reviewed: bool
    can_import: bool

    def __getattr__(self, name: str) -> Any:  # the template reads the corpus's fields too
        return getattr(self.corpus, name)


def _card(user: Any, corpus: Corpus) -> DashboardCard:
    row: Any = corpus  # carries the selector's annotations, which the model does not declare
    access = Access(user=user, corpus=corpus, role=row.member_role)
    return DashboardCard(
        corpus=corpus,
        next_url=reverse_or_none("article", row.next_article_id) if row.next_article_id else None,
        n_my_todo=row.n_my_assigned - row.n_my_submitted,
        shows_team=access.sees_everything(Kind.ASSIGNMENT),
        shows_reviewed=access.can(Action.REVIEW),
        can_import=access.can(Action.IMPORT),
    )


def _home_context(request: PageRequest, form: CorpusCreateForm | None = None) -> dict[str, Any]:
    corpora = [_card(request.user, c) for c in selectors.corpora_for_dashboard(request.user)]
    next_up = next((c for c in corpora if c.next_url), None)
    return {
        "corpora": corpora,
        "next_up": next_up,
        "form": form.values if form else {},
        "errors": form.error_map if form else {},
        "show_create": form is not None,
    }


@login_required
@require_GET
def home(request: PageRequest) -> HttpResponse:
    return render(request, "articles/home.html", _home_context(request))


@login_required
@require_POST
def corpus_create(request: PageRequest) -> HttpResponse:
    form = CorpusCreateForm(request.POST)
    corpus = None

    def create(data: dict[str, Any]) -> str:
        nonlocal corpus
        corpus = services.corpus_create(
            actor=request.user,
            name=data["name"],
            slug=data["slug"].strip() or None,
            description=data["description"],
            blind=data["blind"],
            claim_labels=data["claim_labels"],
            topics=data["topics"],
        )
        return f"Corpus “{corpus.name}” created. You are its owner."

    status = attempt(request, form, create)
    if corpus is not None:
        return redirect("corpus", corpus.slug)
    return render(request, "articles/home.html", _home_context(request, form), status=status)


# --- Corpus: the article list ----------------------------------------------------------------


def _corpus_context(
    request: PageRequest, access: Access, *, warn: bool = False, **extra: Any
) -> dict[str, Any]:
    corpus = access.corpus
    articles = selectors.articles_for_corpus(access)
    # In blind mode an annotator must not learn that others tagged differently.
    show_disagreements = access.show_disagreements()
    if show_disagreements:
        articles = articles.annotate(has_disagreement=selectors.article_has_disagreement())
    filters = CorpusArticleFilterSet(request.GET, articles, access=access)
    if warn:
        for problem in filters.warnings:
            messages.warning(request, problem)
    query = filters.querystring()
    # Unfiltered, the number of articles is the corpus's counter: no COUNT(*) of the corpus;
    # filtered by status alone (or "assigned to me"), the counters too where they hold it.
    kept = filters.counted() if query else selectors.live_articles_kept(corpus)
    return {
        "corpus": corpus,
        "role": access.role,
        "page": paginate(request, filters.qs, ARTICLES_PER_PAGE, count=kept),
        "filters": {**filters.values, "show_disagreements": show_disagreements},
        "status_filters": STATUS_FILTERS,
        "filtered": bool(query),
        "query": query,
        "links": corpus_links(access),
        "topics": list(selectors.topics_for_corpus(corpus)),
        "can_import": access.can(Action.IMPORT),
        "can_suggest": access.can(Action.REVIEW),
        "export_url": access.can(Action.EXPORT)
        and reverse_or_none("api-corpus-export", corpus.slug),
        "export_formats": EXPORT_FORMATS,
        # The export menu's annotator filter: every member who may tag (owners only see it).
        "export_annotators": [
            m.user.username for m in selectors.members_for_corpus(corpus) if m.role != Role.VIEWER
        ]
        if access.can(Action.EXPORT)
        else [],
        "import_extensions": ",".join(IMPORT_EXTENSIONS),
        "import_max_bytes": settings.IMPORT_MAX_BYTES,
        "paste": {},
        **bulk_context(access),
        **extra,
    }


def bulk_context(access: Access) -> dict[str, Any]:
    """The article list's bulk actions the member's role allows (none: no checkboxes)."""
    allowed = {
        "delete": access.can(Action.DELETE_ARTICLE),
        "assign": access.can(Action.ASSIGN),
        "export": access.can(Action.EXPORT),
        "suggest": access.can(Action.REVIEW),  # a background job (views/jobs.py)
    }
    return {
        "bulk": allowed if any(allowed.values()) else None,
        "bulk_annotators": [
            m.user.username
            for m in selectors.members_for_corpus(access.corpus)
            if m.role != Role.VIEWER
        ]
        if allowed["assign"]
        else [],
    }


corpus_page_context = _corpus_context  # the bulk actions show the page again after a refusal


@login_required
@require_GET
@vary_on_headers("HX-Request")
def corpus(request: PageRequest, slug: str) -> HttpResponse:
    _corpus, access = selectors.corpus_with_access(request.user, slug)
    partial = _is_partial(request)
    # A fragment shows no messages: a warning would wait for the next whole page.
    context = _corpus_context(request, access, warn=not partial)
    template = "articles/corpus.html" + ("#article-list" if partial else "")
    return render(request, template, context)


# --- Import ----------------------------------------------------------------------------------


def _import_report_response(
    request: PageRequest,
    access: Access,
    failed: list[tuple[str | None, int | None, str]],
    status: int,
    *,
    unlisted: int = 0,
    paste: dict | None = None,
) -> HttpResponse:
    """The corpus page with the import's report: every problem, as (file, line, reason)."""
    report = {"failed": failed, "count": len(failed) + unlisted}
    context = _corpus_context(
        request, access, import_report=report, paste=paste or {}, import_open=True
    )
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


def _import_files(
    request: PageRequest, access: Access, files: list, title: str = ""
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
def corpus_import(request: PageRequest, slug: str) -> HttpResponse:
    corpus, access = selectors.corpus_with_access(request.user, slug)
    access.ensure(Action.IMPORT)
    try:
        form = ArticleImportForm(request.POST, request.FILES)
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        reason = f"The pasted text is over the {limit:,}-byte form limit."
        return _import_report_response(request, access, [(None, None, reason)], 413)
    files = form.cleaned_data["files"] if form.is_valid() else []
    if files:
        # A title given beside one uploaded text file names its article.
        title = request.POST.get("title", "").strip()
        success, failed, status, unlisted = _import_files(request, access, files, title)
        if success is None:
            return _import_report_response(request, access, failed, status, unlisted=unlisted)
        messages.success(request, success)
        return redirect("corpus", corpus.slug)

    def paste(data: dict[str, Any]) -> str:
        fields = {name: data[name] for name in ARTICLE_FIELDS}
        article = services.article_create(
            actor=request.user, corpus=corpus, role=access.role, **fields
        )
        return f"Imported the article “{article.title}”."

    refused = attempt(request, form, paste)
    if refused is None:
        return redirect("corpus", corpus.slug)
    failed = [(None, None, problem) for problems in form.errors.values() for problem in problems]
    return _import_report_response(request, access, failed, refused, paste=form.pasted)


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
