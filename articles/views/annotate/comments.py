"""Writing the discussion of a claim."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from ... import services
from .context import PageRequest
from .forms import CommentForm
from .writes import PanelWrite, claim_for_write


@login_required
@require_POST
def comment_create(request: PageRequest, pk: int) -> HttpResponse:
    claim, article, access = claim_for_write(request, pk)
    form = CommentForm(request.POST)
    write = PanelWrite(
        request, access, article, claim.pk, errors="comment_errors", keep={"form": form.data}
    )
    return write.run(
        lambda: services.comment_create(
            actor=request.user, claim=claim, role=access.role, **form.parse()
        ),
        done="Comment posted.",
        changed=False,
    )
