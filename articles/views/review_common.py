"""What the pages around the annotation page share: the corpus's sub-navigation, the team pages'
frame, paging, and `attempt`, the one way these pages run a form through a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django_htmx.middleware import HtmxDetails

from .. import selectors, services
from ..access import Access
from ..forms import PageForm
from ..models import Corpus
from ..permissions import Action

# The corpus's other pages: (url name, label, action needed). Shown only when the url exists
# (each is built in its own module) and the member's role has the right.
CORPUS_LINKS = [
    ("corpus-review", "Review", Action.REVIEW),
    ("claim-groups", "Claim groups", Action.VIEW),
    ("corpus-agreement", "Agreement", Action.REVIEW),
    ("corpus-suggestions", "Suggestions", Action.REVIEW),
    ("corpus-assignments", "Assignments", Action.ASSIGN),
    ("corpus-audit", "Audit log", Action.AUDIT),
    ("corpus-jobs", "Jobs", Action.REVIEW),
    ("corpus-trash", "Trash", Action.MANAGE),
    ("corpus-settings", "Settings", Action.MANAGE),
    ("corpus-guidelines", "Guidelines", Action.VIEW),
]

# What a service refuses with, besides PermissionDenied and Http404 (the 403 and 404 pages).
REFUSALS = (
    ValidationError,
    services.Conflict,
    services.StaleVersion,
    services.PayloadTooLarge,
)


class PageRequest(HttpRequest):
    """A request to a login_required page: its `user` is signed in, and django-htmx's
    middleware has set `htmx` (falsy for plain browsers)."""

    user: User
    htmx: HtmxDetails


class CorpusLink(TypedDict):
    """One entry of the corpus's sub-navigation."""

    name: str
    label: str
    url: str
    current: bool


def reverse_or_none(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def corpus_links(access: Access, current: str = "corpus") -> list[CorpusLink]:
    """The corpus's sub-navigation for the member's role (other pages may include it too)."""
    slug = access.corpus.slug
    links = [("corpus", "Articles", reverse("corpus", args=[slug]))]
    for name, label, action in CORPUS_LINKS:
        url = reverse_or_none(name, slug)
        allowed = access.may_see_agreement() if name == "corpus-agreement" else access.can(action)
        if url and allowed:
            links.append((name, label, url))
    return [
        CorpusLink(name=name, label=label, url=url, current=name == current)
        for name, label, url in links
    ]


def attempt(
    request: HttpRequest,
    form: PageForm,
    action: Callable[[dict[str, Any]], str | None],
    *,
    as_message: bool = False,
) -> int | None:
    """Run `action` (a service call) with the form's cleaned data, when the form is valid.

    Success: `action`'s sentence becomes a success message, and None is returned (the view
    redirects). Otherwise the status the page answers with, the mistakes on the form
    (`PageForm.refuse` maps the service's refusal: 400, 409, 413); with `as_message` they are
    also an error message, for forms that the page cannot show again (a row's buttons)."""
    if form.is_valid():
        try:
            message = action(form.cleaned_data)
        except REFUSALS as error:
            status = form.refuse(error)
        else:
            if message:
                messages.success(request, message)
            return None
    else:
        status = form.status
    if as_message:
        messages.error(request, form.error_text())
    return status


def corpus_for(request: HttpRequest, slug: str, action: Action) -> tuple[Corpus, Access]:
    """The corpus (404 to non-members) and the caller's access, when their role allows
    `action` (else 403)."""
    corpus, access = selectors.corpus_with_access(request.user, slug)
    access.ensure(action)
    return corpus, access


def paginate(
    request: HttpRequest,
    objects,
    per_page: int,
    param: str = "page",
    number: Any = None,
    count: int | None = None,
) -> Page:
    """A page of `objects` (the one the query string names, unless `number` is given); a bad or
    too large page number gives the nearest page, not an error. `count`: the number of objects
    when the caller knows it (a counter), instead of a COUNT(*)."""
    paginator = Paginator(objects, per_page)
    if count is not None:
        paginator.count = count  # Paginator.count is a cached_property: this is its value
    return paginator.get_page(number or request.GET.get(param))


def team_nav(access: Access) -> dict[str, bool]:
    """Which of the corpus's team pages the caller may open (links inside the pages)."""
    return {
        "review": access.can(Action.REVIEW),
        "assign": access.can(Action.ASSIGN),
        "audit": access.can(Action.AUDIT),
        "manage": access.can(Action.MANAGE),
        "agreement": access.may_see_agreement(),
    }


def team_context(access: Access, active: str) -> dict:
    """What every team page passes to team_base.html: the corpus, its sub-navigation, rights."""
    return {
        "corpus": access.corpus,
        "links": corpus_links(access, active),
        "nav": team_nav(access),
        "active": active,
    }
