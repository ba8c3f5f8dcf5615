"""Small helpers shared by the team pages (review, team, agreement)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from .. import selectors
from ..models import Corpus
from ..permissions import Action, can, can_see_agreement, ensure
from .pages import corpus_links


def corpus_for(request: HttpRequest, slug: str, action: Action) -> Corpus:
    """The corpus (404 to non-members) when the caller's role allows `action` (else 403)."""
    corpus = selectors.corpus_get_for_user(request.user, slug)
    ensure(corpus.my_role, action)
    return corpus


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


def team_nav(corpus: Corpus) -> dict[str, bool]:
    """Which of the corpus's team pages the caller may open (links inside the pages)."""
    role = corpus.my_role
    return {
        "review": can(role, Action.REVIEW),
        "assign": can(role, Action.ASSIGN),
        "audit": can(role, Action.AUDIT),
        "manage": can(role, Action.MANAGE),
        "agreement": can_see_agreement(role=role, blind=corpus.blind),
    }


def team_context(corpus: Corpus, active: str) -> dict:
    """What every team page passes to team_base.html: the corpus, its sub-navigation, rights."""
    return {
        "corpus": corpus,
        "links": corpus_links(corpus, active),
        "nav": team_nav(corpus),
        "active": active,
    }
