"""Writing claims: marking one in the text, its summary, its own labels, deleting it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from ... import selectors, services
from ...models import Claim
from ...permissions import Action
from .context import PageRequest
from .forms import ClaimFieldForm, ClaimForm, ClaimLabelsForm, ClaimSummaryForm
from .writes import PanelWrite, TextWrite, Versions, after_write, claim_for_write


@login_required
@require_POST
def claim_create(request: PageRequest, pk: int) -> HttpResponse:
    """A claim from a selection in the text (offsets and quote) or from a quote alone."""
    article, access = selectors.article_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    form = ClaimForm(request.POST, text=article.text)
    write = TextWrite(
        request,
        access,
        article,
        None,
        errors="claim_errors",
        keep={"claim_form": form.data},
    )
    found = False

    def create() -> Claim:
        nonlocal found
        try:
            return services.claim_create(
                actor=request.user, article=article, role=access.role, **form.parse()
            )
        except services.DuplicateClaim as duplicate:
            # One span, one claim: open the claim there is for tagging (spans are shared, so
            # this reveals nothing blind mode hides; the panel shows only what the caller sees).
            found = True
            return duplicate.existing

    return write.run(
        create,
        done=lambda: (
            "This passage is a claim already: opened it for tagging." if found else "Claim marked."
        ),
        opens=lambda claim: claim.pk,
    )


def _shown(value: str | list[str]) -> str:
    return (value if isinstance(value, str) else ", ".join(value)) or "—"


def _claim_update(
    request: PageRequest, pk: int, form_class: type[ClaimFieldForm], *, errors: str, done: str
) -> HttpResponse:
    """Save one of the claim's own fields (its summary, its labels) from a form of its own; a
    stale version shows that field as sent and as saved now."""
    claim, article, access = claim_for_write(request, pk)
    form = form_class(request.POST, corpus=article.corpus)
    field = form.field

    def versions(current: Claim) -> Versions:
        return Versions(
            what=f"the claim's {field}",
            mine=[(field.title(), _shown(form.cleaned_data[field]))],
            theirs=[(field.title(), _shown(getattr(current, field)))],
            version=current.version,
        )

    return PanelWrite(request, access, article, claim.pk, errors=errors).run(
        lambda: services.claim_update(
            actor=request.user, claim=claim, role=access.role, **form.parse()
        ),
        done=done,
        changed=False,
        versions=versions,
    )


@login_required
@require_POST
def claim_edit(request: PageRequest, pk: int) -> HttpResponse:
    return _claim_update(
        request, pk, ClaimSummaryForm, errors="panel_errors", done="Summary saved."
    )


@login_required
@require_POST
def claim_labels(request: PageRequest, pk: int) -> HttpResponse:
    """The claim's own labels (shared by everyone, unlike each annotator's): its creator or a
    curator sets them; the checkboxes send the whole set."""
    return _claim_update(
        request, pk, ClaimLabelsForm, errors="claim_label_errors", done="Claim labels saved."
    )


@login_required
@require_POST
def claim_delete(request: PageRequest, pk: int) -> HttpResponse:
    claim, article, access = claim_for_write(request, pk)
    services.claim_delete(access=access, claim=claim)
    return after_write(request, access, article, None, "Claim deleted.")
