"""`{% suggestion_panel %}`: the suggestions panel of the annotation page, wherever the claim
list is rendered (the whole page, or the list's htmx refresh), without the page's views having
to know about it."""

from __future__ import annotations

from typing import Any

from django import template

from ..views.suggestions import panel_context

register = template.Library()


@register.inclusion_tag("articles/_suggestions.html", takes_context=True)
def suggestion_panel(context: template.Context) -> dict[str, Any]:
    article, viewer, request = context["article"], context["viewer"], context["request"]
    return {
        "article": article,
        "viewer": viewer,
        "csrf_token": context.get("csrf_token"),
        **panel_context(request, article, viewer),
    }
