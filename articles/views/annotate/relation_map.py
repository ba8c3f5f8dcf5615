"""The links between claims drawn beside the text: the relations the caller may see on the
article (through their Access, so blind mode hides others' links), as data for the page's
script (static/js/arrows.js), which draws them in the margin."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from ... import selectors
from ...access import Access
from ...models import Article
from .claim_list import excerpt
from .context import PageRequest
from .responses import partial


def relation_map_context(access: Access, article: Article) -> dict[str, object]:
    """Each visible link as (source id, target id, kind, a sentence naming both claims by their
    number and words): two queries."""
    outline = list(selectors.claim_outline_for_article(article))
    labels = {cid: (n, excerpt(head, 40)) for n, (cid, head) in enumerate(outline, 1)}
    links = []
    seen: set[tuple[int, int, str]] = set()
    for source_id, target_id, kind in (
        selectors.relations_for_article(access, article)
        .order_by("id")
        .values_list("source_claim_id", "target_claim_id", "kind")
    ):
        if (source_id, target_id, kind) in seen:
            continue  # two annotators drew the same link: one arrow
        seen.add((source_id, target_id, kind))
        source, target = labels.get(source_id), labels.get(target_id)
        if source is None or target is None:
            continue
        links.append(
            {
                "source": source_id,
                "target": target_id,
                "kind": kind,
                "label": f"Claim {source[0]} “{source[1]}” {kind} claim {target[0]} “{target[1]}”",
            }
        )
    return {"relation_links": links}


@login_required
@require_GET
def article_relation_map(request: PageRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    if not request.htmx:
        return redirect("article", pk=article.pk)
    context = {"article": article, **relation_map_context(access, article)}
    return render(request, partial("relation-map"), context)
