"""Small helpers shared by the team pages (review, team, agreement)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from .. import selectors
from ..access import Access
from ..models import Corpus
from ..permissions import Action
from .pages import corpus_links


def corpus_for(request: HttpRequest, slug: str, action: Action) -> tuple[Corpus, Access]:
    """The corpus (404 to non-members) and the caller's access, when their role allows
    `action` (else 403)."""
    corpus, access = selectors.corpus_with_access(request.user, slug)
    access.ensure(action)
    return corpus, access


def error_text(error: ValidationError) -> str:
    """A ValidationError as one readable sentence (field names are already in the messages)."""
    if hasattr(error, "error_dict"):
        return " ".join(m for messages in error.message_dict.values() for m in messages)
    return " ".join(error.messages)


def error_map(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"form": error.messages}


def paginate(request: HttpRequest, objects, per_page: int, param: str = "page") -> Page:
    """A page of `objects`; a bad or too large page number gives the nearest page, not an error."""
    return Paginator(objects, per_page).get_page(request.GET.get(param))


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
