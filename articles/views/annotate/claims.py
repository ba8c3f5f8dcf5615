"""Writing claims: marking one in the text, its summary, its own labels, deleting it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from ... import selectors, services
from ...models import Claim
from ...permissions import Action
from .context import PageRequest
from .forms import ClaimForm, ClaimLabelsForm, ClaimSummaryForm
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
    return write.run(
        lambda: services.claim_create(
            actor=request.user, article=article, role=access.role, **form.parse()
        ),
        done="Claim marked.",
        opens=lambda claim: claim.pk,
    )


@login_required
@require_POST
def claim_edit(request: PageRequest, pk: int) -> HttpResponse:
    claim, article, access = claim_for_write(request, pk)
    form = ClaimSummaryForm(request.POST)

    def versions(current: Claim) -> Versions:
        return Versions(
            what="the claim's summary",
            mine=[("Summary", form.cleaned_data["summary"] or "—")],
            theirs=[("Summary", current.summary or "—")],
            version=current.version,
        )

    return PanelWrite(request, access, article, claim.pk).run(
        lambda: services.claim_update(
            actor=request.user, claim=claim, role=access.role, **form.parse()
        ),
        done="Summary saved.",
        changed=False,
        versions=versions,
    )


@login_required
@require_POST
def claim_labels(request: PageRequest, pk: int) -> HttpResponse:
    """The claim's own labels (shared by everyone, unlike each annotator's): its creator or a
    curator sets them; the checkboxes send the whole set."""
    claim, article, access = claim_for_write(request, pk)
    form = ClaimLabelsForm(request.POST, allowed=article.corpus.claim_labels)

    def versions(current: Claim) -> Versions:
        return Versions(
            what="the claim's labels",
            mine=[("Labels", ", ".join(form.cleaned_data["labels"]) or "—")],
            theirs=[("Labels", ", ".join(current.labels) or "—")],
            version=current.version,
        )

    write = PanelWrite(request, access, article, claim.pk, errors="claim_label_errors")
    return write.run(
        lambda: services.claim_update(
            actor=request.user, claim=claim, role=access.role, **form.parse()
        ),
        done="Claim labels saved.",
        changed=False,
        versions=versions,
    )


@login_required
@require_POST
def claim_delete(request: PageRequest, pk: int) -> HttpResponse:
    claim, article, access = claim_for_write(request, pk)
    services.claim_delete(access=access, claim=claim)
    return after_write(request, access, article, None, "Claim deleted.")
