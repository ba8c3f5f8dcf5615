"""Managing several articles at once (the corpus page's bulk actions): all or nothing, each
article's change audited as if it had been made alone."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from ..access import Access
from ..models import Article, Assignment
from ..permissions import Action
from .accounts import _find_user
from .articles import article_delete
from .review import assignment_create


def articles_delete(*, access: Access, articles: Sequence[Article]) -> int:
    """Moves every article (with its claims) to the trash, or none of them."""
    access.ensure(Action.DELETE_ARTICLE)
    with transaction.atomic():
        for article in articles:
            article_delete(actor=access.user, article=article, role=access.role)
    return len(articles)


def articles_assign(
    *, access: Access, articles: Sequence[Article], annotator: str
) -> tuple[int, int]:
    """Gives every article to the annotator (articles they have already are left as they are).
    Returns (assigned now, had already); one refusal and nothing is assigned."""
    access.ensure(Action.ASSIGN)
    user = _find_user(annotator, "annotator")
    with transaction.atomic():
        had = set(
            Assignment.objects.filter(annotator=user, article__in=articles).values_list(
                "article_id", flat=True
            )
        )
        for article in articles:
            if article.pk not in had:
                assignment_create(
                    actor=access.user, article=article, role=access.role, annotator=user
                )
    return len(articles) - len(had), len(had)
