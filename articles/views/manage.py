"""Managing articles from the pages: an article's details, deleting it (to the trash), and the
corpus page's bulk actions on the ticked articles (delete, assign, export).

Plain form POSTs (CSRF-protected) that redirect with a message; a refusal shows the page again
with the reason and the status it deserves. Services decide; forms parse.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from .. import selectors, services
from ..access import Access
from ..forms import BULK_ACTIONS, ArticleEditForm, BulkArticlesForm
from ..models import Article
from ..permissions import Action
from . import pages
from .review_common import PageRequest, attempt

# --- One article: its details, and the trash ---------------------------------------------


def _edit_page(
    request: PageRequest,
    article: Article,
    access: Access,
    form: ArticleEditForm | None = None,
    status: int = 200,
) -> HttpResponse:
    values = (
        form.values
        if form is not None
        else {name: getattr(article, name) or "" for name in ArticleEditForm.FIELDS}
    )
    if form is None and article.published_on:
        values["published_on"] = article.published_on.isoformat()
    context = {
        "article": article,
        "corpus": access.corpus,
        "values": values,
        "errors": form.error_map if form is not None else {},
        "can_delete": access.can(Action.DELETE_ARTICLE),
    }
    return render(request, "articles/article_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def article_edit(request: PageRequest, pk: int) -> HttpResponse:
    """The article's title, author, source, date and language (owners)."""
    article, access = selectors.article_with_access(request.user, pk)
    access.ensure(Action.MANAGE)
    if request.method == "GET":
        return _edit_page(request, article, access)
    form = ArticleEditForm(request.POST)

    def save(data: dict[str, Any]) -> str:
        services.article_update(
            actor=request.user,
            article=article,
            role=access.role,
            version=data["version"],
            **{name: data[name] for name in ArticleEditForm.FIELDS},
        )
        return "Saved the article's details."

    status = attempt(request, form, save)
    if status is None:
        return redirect("article", pk=article.pk)
    return _edit_page(request, article, access, form, status)


@login_required
@require_POST
def article_delete(request: PageRequest, pk: int) -> HttpResponse:
    """Moves the article and its claims to the corpus's trash (an owner can restore it)."""
    article, access = selectors.article_with_access(request.user, pk)
    services.article_delete(actor=request.user, article=article, role=access.role)
    messages.success(
        request, f"Moved “{article.title}” to the trash. An owner can restore it from there."
    )
    return redirect("corpus", access.corpus.slug)


# --- Several articles: the corpus page's bulk actions --------------------------------------


@login_required
@require_POST
def corpus_bulk(request: PageRequest, slug: str) -> HttpResponse:
    """Delete, assign or export the ticked articles: all or nothing, each change audited."""
    corpus, access = selectors.corpus_with_access(request.user, slug)
    access.ensure(Action.ASSIGN)  # the least of the bulk actions' rights, before any parsing
    form = BulkArticlesForm(request.POST)
    export_url = ""

    def run(data: dict[str, Any]) -> str:
        nonlocal export_url
        action = data["bulk_action"]
        access.ensure(
            {"delete": Action.DELETE_ARTICLE, "assign": Action.ASSIGN, "export": Action.EXPORT}[
                action
            ]
        )
        chosen = selectors.articles_chosen(access, data["articles"])
        if action == "delete":
            n = services.articles_delete(access=access, articles=chosen)
            return f"Moved {n} article{'s' * (n != 1)} to the trash."
        if action == "assign":
            done, had = services.articles_assign(
                access=access, articles=chosen, annotator=data["annotator"]
            )
            who = str(data["annotator"]).strip()
            return f"Gave {done} article{'s' * (done != 1)} to {who}" + (
                f" ({had} they had already)." if had else "."
            )
        formats = [code for code, _label in pages.EXPORT_FORMATS]
        if data["format"] not in formats:
            raise ValidationError({"format": [f"format must be one of {', '.join(formats)}."]})
        query = urlencode([("format", data["format"]), *(("article", a.pk) for a in chosen)])
        export_url = reverse("api-corpus-export", args=[corpus.slug]) + "?" + query
        return ""

    status = attempt(request, form, run, as_message=True)
    if status is None:
        return redirect(export_url) if export_url else redirect("corpus", corpus.slug)
    context = pages.corpus_page_context(request, access)
    return render(request, "articles/corpus.html", context, status=status)


__all__ = ["BULK_ACTIONS", "urlpatterns"]

urlpatterns = [
    path("articles/<int:pk>/edit/", article_edit, name="article-edit"),
    path("articles/<int:pk>/delete/", article_delete, name="article-delete"),
    path("corpora/<slug:slug>/articles/bulk/", corpus_bulk, name="corpus-bulk"),
]
