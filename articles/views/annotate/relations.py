"""Writing links between claims (supports, attacks, rephrases)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from ... import selectors, services
from ...models import Relation
from ...permissions import Action
from .context import PageRequest
from .forms import BackToClaimForm, RelationForm
from .search import only_match, relation_search
from .writes import PanelWrite, after_write, claim_for_write


@login_required
@require_POST
def relation_create(request: PageRequest, pk: int) -> HttpResponse:
    """A link from the open claim to the claim chosen among the matches; without a choice, the
    words typed pick it when one claim matches them, else the matches are offered."""
    claim, article, access = claim_for_write(request, pk)
    form = RelationForm(request.POST)
    keep = {"relation_form": form.data}  # what was typed and chosen, shown again after a mistake
    write = PanelWrite(request, access, article, claim.pk, errors="relation_errors", keep=keep)

    def save() -> Relation:
        data = form.parse()
        target_id, query = data["target"], data["q"]
        if target_id is None and query:
            search = relation_search(article, claim.pk, query=query)
            write.keep.update(search)  # the matches, offered again beside the message
            target_id = only_match(search, query)
        if target_id is None:
            raise ValidationError({"target": ["Choose the other claim."]})
        target, _target_access = selectors.claim_with_access(request.user, target_id)
        source, target = (target, claim) if data["direction"] == "in" else (claim, target)
        return services.relation_create(
            actor=request.user, source=source, target=target, role=access.role, kind=data["kind"]
        )

    return write.run(save, done="Link added.")


@login_required
@require_POST
def relation_delete(request: PageRequest, pk: int) -> HttpResponse:
    """Remove a link; the panel shown afterwards is the claim it was removed from (either end)."""
    relation, access = selectors.relation_with_access(request.user, pk)
    article = relation.source_claim.article
    access.ensure(Action.ANNOTATE)
    back = BackToClaimForm(request.POST).parse()["claim"]
    if back not in (relation.source_claim_id, relation.target_claim_id):
        back = relation.source_claim_id
    services.relation_delete(actor=request.user, relation=relation, role=access.role)
    return after_write(request, access, article, back, "Link removed.")
