"""Who sees a job: the member who asked, while they still may export, import or (suggest jobs)
review, and the owners of its corpus. Anyone else, members included, gets 404 as for anything
not theirs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from ..access import Access
from ..models import Job, JobKind, Role
from ..permissions import Action
from ..selectors import corpus_with_access

ACTION_OF_KIND = {
    JobKind.EXPORT: Action.EXPORT,
    JobKind.IMPORT: Action.IMPORT,
    JobKind.SUGGEST: Action.REVIEW,
}


def jobs_for_corpus(access: Access) -> QuerySet[Job]:
    """The jobs of the corpus that this member sees, newest first."""
    jobs = Job.objects.filter(corpus=access.corpus).select_related("created_by")
    if access.role == Role.OWNER:
        return jobs
    kinds = [kind for kind, action in ACTION_OF_KIND.items() if access.can(action)]
    return jobs.filter(created_by=access.user, kind__in=kinds)


def job_with_access(user: Any, job_id: Any) -> tuple[Job, Access]:
    """One job the user may see, with their access to its corpus, or Http404."""
    try:
        slug = Job.objects.filter(pk=str(job_id)).values_list("corpus__slug", flat=True).first()
    except ValidationError:  # not a UUID
        slug = None
    if slug is None:
        raise Http404("No job with that id among yours.")
    _corpus, access = corpus_with_access(user, slug)
    job = jobs_for_corpus(access).filter(pk=str(job_id)).select_related("corpus").first()
    if job is None:
        raise Http404("No job with that id among yours.")
    return job, access
