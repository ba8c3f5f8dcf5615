"""Pages for articles that change: editing the text (with a preview of the difference and of
what happens to the claims before anything is saved), the versions and their comparison, and
the writes behind the annotation page's "text changed" box (placing an orphan again, confirming
a tag after a second look, dismissing a notice). Every page works without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services, version_selectors
from ..forms import VersionedForm, line, passed_on
from ..models import Article
from ..permissions import Action
from ..services.versions import MAX_VERSION_NOTE
from .review_common import PageRequest, attempt, corpus_links
from .text_diff import text_diff

# --- Forms -------------------------------------------------------------------------------------


class TextEditForm(VersionedForm):
    """The new text (checked by the service: normalised, not empty, under the size limit)."""

    text = passed_on(widget=forms.Textarea)
    note = line(MAX_VERSION_NOTE)
    action = passed_on()  # "preview" (the default) or "save"

    @property
    def saving(self) -> bool:
        return self.is_valid() and self.cleaned_data["action"] == "save"


class PlaceForm(VersionedForm):
    """An orphan's new place: the passage's words (the server finds them), or the offsets a
    selection in the text gives."""

    exact = passed_on()
    start = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    end = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def span(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["start"] is not None and data["end"] is not None:  # a selection in the text
            return {"start": data["start"], "end": data["end"]}
        return {"exact": data["exact"] or None}


class CompareForm(forms.Form):
    a = forms.IntegerField(min_value=1, required=False)
    b = forms.IntegerField(min_value=1, required=False)


# --- Edit text ---------------------------------------------------------------------------------


def _edit_context(article: Article, form: TextEditForm, access: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "article": article,
        "corpus": article.corpus,
        "links": corpus_links(access, ""),
        "form": form,
        "values": form.values if form.is_bound else {"text": article.text, "note": ""},
        "version": form.data.get("version") if form.is_bound else article.version,
        "errors": form.error_map if form.is_bound else {},
    }
    text = form.data.get("text") if form.is_bound else None
    if isinstance(text, str) and not form.errors:
        try:
            new_text = services.clean_article_text(text)
        except (services.PayloadTooLarge, forms.ValidationError):
            new_text = None
        if new_text is not None:
            context["diff"] = text_diff(article.text, new_text)
            context["preview"] = version_selectors.preview_text_change(article, new_text)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def article_edit_text(request: PageRequest, pk: int) -> HttpResponse:
    """GET: the text in a form. POST "preview": the difference and what happens to the claims,
    nothing saved. POST "save": the new version (409 when someone saved one meanwhile)."""
    article, access = selectors.article_with_access(request.user, pk)
    access.ensure(Action.EDIT_TEXT)
    template = "articles/edit_text.html"
    if request.method == "GET":
        form = TextEditForm()
        return render(request, template, _edit_context(article, form, access))
    form = TextEditForm(request.POST)
    status = 200
    if form.saving:

        def save(data: dict[str, Any]) -> str:
            change = services.article_text_replace(
                actor=request.user,
                article=article,
                role=access.role,
                text=data["text"],
                note=data["note"],
                version=data["version"],
            )
            counts = change.counts()["claims"]
            return (
                f"Version {change.version.number} saved. Claims: {counts['kept']} kept, "
                f"{counts['moved']} moved, {counts['fuzzy']} on changed words, "
                f"{counts['orphaned']} orphaned."
            )

        failed = attempt(request, form, save)
        if failed is None:
            return redirect("article", pk=article.pk)
        status = failed
    elif not form.is_valid():
        status = form.status
    return render(request, template, _edit_context(article, form, access), status=status)


# --- Versions and their comparison -----------------------------------------------------------


@login_required
@require_GET
def article_versions(request: PageRequest, pk: int) -> HttpResponse:
    """Every version with who, when and why; `?a=1&b=2` compares two of them."""
    article, access = selectors.article_with_access(request.user, pk)
    versions = version_selectors.versions_for_article(article)
    numbers = [v.number for v in versions]
    compare = CompareForm(request.GET)
    a, b = (numbers[-2] if len(numbers) > 1 else 1), numbers[-1]
    if compare.is_valid():
        a = compare.cleaned_data["a"] or a
        b = compare.cleaned_data["b"] or b
    context: dict[str, Any] = {
        "article": article,
        "corpus": article.corpus,
        "links": corpus_links(access, ""),
        "versions": versions,
        "a": a,
        "b": b,
        "may_edit": access.can(Action.EDIT_TEXT),
    }
    by_number = {v.number: v for v in versions}
    if a in by_number and b in by_number and a != b:
        context["diff"] = text_diff(by_number[a].text, by_number[b].text)
    elif a not in by_number or b not in by_number:
        context["compare_error"] = f"This article has versions 1 to {numbers[-1]}."
    return render(request, "articles/versions.html", context)


@login_required
@require_GET
def article_version(request: PageRequest, pk: int, number: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    version = version_selectors.version_of_article(article, number)
    context = {
        "article": article,
        "corpus": article.corpus,
        "links": corpus_links(access, ""),
        "version": version,
        "current": version.number == article.text_version,
    }
    return render(request, "articles/version.html", context)


# --- Writes from the annotation page's "text changed" box --------------------------------------


@login_required
@require_POST
def claim_place(request: PageRequest, pk: int) -> HttpResponse:
    claim, access = selectors.claim_with_access(request.user, pk)
    form = PlaceForm(request.POST)

    def place(data: dict[str, Any]) -> str:
        services.claim_place(
            actor=request.user,
            claim=claim,
            role=access.role,
            version=data["version"],
            **form.span(),
        )
        return "The claim has its place again; its tags are marked for a second look."

    failed = attempt(request, form, place, as_message=True)
    if failed is None:
        return redirect(reverse("article", args=[claim.article_id]) + f"?claim={claim.pk}")
    return redirect(reverse("article", args=[claim.article_id]) + "#orphans")


@login_required
@require_POST
def annotation_confirm(request: PageRequest, pk: int) -> HttpResponse:
    annotation, access = selectors.annotation_with_access(request.user, pk)
    services.annotation_confirm(actor=request.user, annotation=annotation, role=access.role)
    messages.success(request, "Your tag stands as it is.")
    claim_id = annotation.claim_id
    return redirect(reverse("article", args=[annotation.claim.article_id]) + f"?claim={claim_id}")


@login_required
@require_POST
def notice_dismiss(request: PageRequest, pk: int) -> HttpResponse:
    notice = version_selectors.notice_of_user(request.user, pk)
    services.notice_dismiss(actor=request.user, notice=notice)
    return redirect("article", pk=notice.version.article_id)


def text_change_context(access: Any, article: Article) -> dict[str, Any]:
    """What the annotation page shows about text changes: the caller's notices and the orphans.
    No query for an article whose text never changed."""
    may = {
        "may_edit_text": access.can(Action.EDIT_TEXT),
        "may_place": access.can(Action.ANNOTATE),
        "may_curate": access.can(Action.REVIEW),
    }
    if article.text_version == 1:
        return {"text_notices": [], "orphans": [], **may}
    return {
        "text_notices": version_selectors.notices_for_article(access, article),
        "orphans": list(version_selectors.orphaned_claims(article)),
        **may,
    }


urlpatterns = [
    path("articles/<int:pk>/edit-text", article_edit_text, name="article-edit-text"),
    path("articles/<int:pk>/versions", article_versions, name="article-versions"),
    path("articles/<int:pk>/versions/<int:number>", article_version, name="article-version"),
    path("claims/<int:pk>/place", claim_place, name="claim-place"),
    path("annotations/<int:pk>/confirm", annotation_confirm, name="annotation-confirm"),
    path("notices/<int:pk>/dismiss", notice_dismiss, name="notice-dismiss"),
]

__all__ = ["text_change_context", "urlpatterns"]
