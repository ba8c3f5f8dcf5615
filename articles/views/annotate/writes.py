"""How a write of the annotation page answers, decided once for every write view.

A write is a form POST that htmx enhances. When it works: htmx gets the refreshed panel, a status
message and a `claims-changed` event (the text and the list refresh themselves); plain browsers
are sent back to the page (post/redirect/get) with a flash message. When it does not, the
service's (or the form's) error becomes:

- ValidationError -> 400, the same panel with the messages beside the form and what was typed;
- services.StaleVersion (or `Changed`) -> 412, the conflict view: both versions side by side and
  "Keep mine" to resend against the current version;
- services.Conflict -> 409, the panel with the message;
- services.PayloadTooLarge -> 413, the panel with the message;
- PermissionDenied and Http404 pass through (403 and 404 pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import reswap, retarget, trigger_client_event

from ... import selectors, services
from ...access import Access
from ...models import Annotation, Article, Claim
from ...permissions import Action
from .context import PageRequest, base_context, page_url, viewer_for
from .forms import FilterForm
from .responses import partial, render_page, render_panel


def messages_of(error: ValidationError) -> list[str]:
    """A ValidationError as readable lines ("start: start must not be negative." reads
    "start must not be negative."; a message not naming its field gets the field's name)."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    lines = []
    for name, problems in error.message_dict.items():
        for problem in problems:
            named = name == NON_FIELD_ERRORS or problem.lower().startswith(name)
            lines.append(problem if named else f"{name}: {problem}")
    return lines


@dataclass(frozen=True)
class Versions:
    """The conflict view's two sides: what changed meanwhile, as the caller sent it (`mine`) and
    as it is saved now (`theirs`), and the `version` to resend against."""

    what: str
    mine: list[tuple[str, str]]
    theirs: list[tuple[str, str]]
    version: int | str


class Changed(Exception):  # noqa: N818 - named for what happened, like services.Conflict
    """What a form edits changed or vanished meanwhile, found by the view rather than by the
    service's version check (my tag deleted in another tab): answered like StaleVersion."""

    def __init__(self, current: Model | None) -> None:
        super().__init__("Changed meanwhile.")
        self.current = current


def claim_for_write(request: PageRequest, pk: int) -> tuple[Claim, Article, Access]:
    """The claim (404 for non-members), its article and the caller's access, refusing members
    who may not annotate (403)."""
    claim, access = selectors.claim_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    return claim, claim.article, access


def mine_for_write(request: PageRequest, pk: int) -> tuple[Annotation, Article, Access]:
    """An annotation to change, as claim_for_write (the service checks it is the caller's)."""
    annotation, access = selectors.annotation_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    return annotation, annotation.claim.article, access


def after_write(
    request: PageRequest,
    access: Access,
    article: Article,
    claim_id: int | None,
    message: str,
    *,
    changed: bool = True,
) -> HttpResponse:
    """htmx: the refreshed panel, a status message, and `claims-changed` for the text and list
    (when the write changed what they show). Plain browsers: back to the page with the list's
    filter the form carried, and a flash message."""
    if not request.htmx:
        messages.success(request, message)
        back = FilterForm(request.POST).name
        return redirect(page_url(article.pk, claim_id=claim_id, filter_name=back))
    response = render_panel(request, article, viewer_for(access, article), claim_id)
    trigger_client_event(response, "saved", {"message": message})
    if changed:
        trigger_client_event(response, "claims-changed", {"claim": claim_id})
    return response


@dataclass
class PanelWrite:
    """A write from the claim panel of `claim_id`. `errors` names where the panel shows this
    form's messages; `keep` is what the panel shows again after a mistake (what was typed)."""

    request: PageRequest
    access: Access
    article: Article
    claim_id: int | None
    errors: str = "panel_errors"
    keep: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        save: Callable[[], Any],
        *,
        done: str | Callable[[], str],
        changed: bool = True,
        versions: Callable[[Any], Versions] | None = None,
        opens: Callable[[Any], int | None] | None = None,
    ) -> HttpResponse:
        """Call `save` (it parses the form and calls a service) and answer.

        `done` is the message of success (or makes it from the parsed form); `versions`
        describes a conflict from the object as saved now (StaleVersion.current or
        Changed.current); `opens` gives the claim to show after success from what `save`
        returned (default: this one)."""
        try:
            result = save()
        except ValidationError as error:
            return self.refused(messages_of(error), status=400)
        except (services.StaleVersion, Changed) as stale:
            if versions is None:
                raise
            return self.conflict(versions(stale.current))
        except services.Conflict as error:
            return self.refused([str(error)], status=409)
        except services.PayloadTooLarge as error:
            return self.refused([str(error)], status=413)
        shown = opens(result) if opens else self.claim_id
        message = done if isinstance(done, str) else done()
        return after_write(self.request, self.access, self.article, shown, message, changed=changed)

    def refused(self, problems: list[str], *, status: int) -> HttpResponse:
        viewer = viewer_for(self.access, self.article)
        context = {self.errors: problems, **self.keep}
        return render_panel(
            self.request, self.article, viewer, self.claim_id, status=status, **context
        )

    def conflict(self, versions: Versions) -> HttpResponse:
        """412: the panel's conflict view, and my submission to resend as it was (but for the
        version, the current one)."""
        resend = [
            (name, value)
            for name, values in self.request.POST.lists()
            if name not in ("csrfmiddlewaretoken", "version")
            for value in values
        ]
        conflict = {
            "what": versions.what,
            "mine": versions.mine,
            "theirs": versions.theirs,
            "action": self.request.path,
            "resend": resend,
            "version": versions.version,
        }
        viewer = viewer_for(self.access, self.article)
        return render_panel(
            self.request, self.article, viewer, self.claim_id, status=412, conflict=conflict
        )


class TextWrite(PanelWrite):
    """A write from the text column (marking a claim): its mistakes show above the text, in the
    `claim-errors` partial that htmx swaps in place, or on the whole page without JavaScript."""

    def refused(self, problems: list[str], *, status: int) -> HttpResponse:
        viewer = viewer_for(self.access, self.article)
        context = {self.errors: problems, **self.keep}
        if self.request.htmx:
            response = render(
                self.request,
                partial("claim-errors"),
                base_context(self.article, viewer) | context,
                status=status,
            )
            return reswap(retarget(response, "#claim-errors"), "outerHTML")
        return render_page(self.request, self.article, viewer, None, status=status, **context)
