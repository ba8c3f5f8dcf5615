"""Starting a job: the `Job` row and the task that will run it.

On the database backend the task is a row in the same database, written in the caller's
transaction: the job is queued if and only if the request that asked for it committed. On Redis
the task is sent once the transaction has committed (a worker must find the row); if Redis
cannot be reached then, the job stays queued and the maintenance loop sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django_tasks import (
    DEFAULT_TASK_BACKEND_ALIAS,
    TaskResultStatus,
    default_task_backend,
    task_backends,
)
from django_tasks.exceptions import TaskResultDoesNotExist

from .. import exports
from ..access import Access
from ..models import Job, JobKind, JobStatus
from ..permissions import Action
from ..replica import wal_position

logger = logging.getLogger(__name__)


def queue_is_database() -> bool:
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def job_enqueue(job: Job) -> None:
    """Queue a task for the job: now, in the caller's transaction (database backend), or after
    the commit (Redis)."""
    if queue_is_database():
        _send(job)
    else:
        transaction.on_commit(lambda: _send_logged(job))


def _send(job: Job) -> None:
    from .tasks import run_job

    result = run_job.enqueue(str(job.pk))
    job.task_id = str(result.id)
    Job.objects.filter(pk=job.pk).update(task_id=job.task_id)


def _send_logged(job: Job) -> None:
    try:
        _send(job)
    except Exception:  # the queue is down: the job stays queued, maintenance sends it again
        logger.exception("Could not queue job %s; it will be queued again later", job.pk)


def task_is_pending(job: Job) -> bool:
    """Whether the task last queued for this queued job may still run it."""
    if not job.task_id:
        return False
    try:
        result = default_task_backend.get_result(job.task_id)
    except TaskResultDoesNotExist:
        return False
    return result.status in (TaskResultStatus.READY, TaskResultStatus.RUNNING)


def _params_as_lists(params: Mapping[str, Any]) -> dict[str, Sequence[str]]:
    """A JSON body's filters as the export parameters take them (name -> list of strings)."""
    lists: dict[str, Sequence[str]] = {}
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        lists[name] = [
            ("true" if item else "false") if isinstance(item, bool) else str(item)
            for item in values
        ]
    return lists


@transaction.atomic
def job_export_start(*, access: Access, params: Mapping[str, Any], base_url: str) -> Job:
    """Validate the export's parameters (ValidationError naming each bad one) and queue it."""
    access.ensure(Action.EXPORT)
    lists = _params_as_lists(params)
    spec = exports.parse_export_params(access.corpus, lists)
    job = Job.objects.create(
        corpus=access.corpus,
        kind=JobKind.EXPORT,
        # Where the primary's log is now: the worker reads from the replica once it is there.
        params={"query": lists, "base_url": base_url, "wal": wal_position()},
        created_by=access.user,
        filename=spec.filename(),
        content_type=spec.format.content_type,
    )
    job_enqueue(job)
    return job


def job_import_start(
    *,
    access: Access,
    kind: str | None,
    name: str,
    file: IO[bytes],
    title: str | None,
) -> Job:
    """Keep the upload in the jobs storage and queue its import (the import itself checks it)."""
    access.ensure(Action.IMPORT)
    job = Job(
        corpus=access.corpus,
        kind=JobKind.IMPORT,
        created_by=access.user,
        params={"kind": kind, "name": name, "title": title},
    )
    file.seek(0)
    stored = job.file.storage.save(f"{job.pk}/upload", File(file))
    job.params["upload"] = stored
    try:
        with transaction.atomic():
            job.save(force_insert=True)
            job_enqueue(job)
    except BaseException:
        job.file.storage.delete(stored)
        raise
    return job


@transaction.atomic
def job_suggest_start(*, access: Access, articles: Sequence[int] | None = None) -> Job:
    """Queue the built-in suggester on every live article of the corpus, or on `articles`
    (ids of live articles of this corpus; ValidationError naming the field otherwise)."""
    from django.core.exceptions import ValidationError

    from ..models import Article

    access.ensure(Action.REVIEW)
    params: dict[str, Any] = {}
    if articles:
        wanted = sorted(set(articles))
        # An id beyond the database's integers is no article of ours (and must not reach the
        # query: SQLite refuses to bind it).
        storable = [pk for pk in wanted if 0 < pk <= 2**63 - 1]
        found = set(
            Article.objects.alive()
            .filter(corpus=access.corpus, pk__in=storable)
            .values_list("pk", flat=True)
        )
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise ValidationError(
                {"articles": [f"No article with id {', '.join(map(str, missing))} here."]}
            )
        params["articles"] = wanted
    job = Job.objects.create(
        corpus=access.corpus, kind=JobKind.SUGGEST, created_by=access.user, params=params
    )
    job_enqueue(job)
    return job


def job_summary(job: Job) -> dict[str, Any]:
    """What the API and the page say about a job (the download URL is added by the caller)."""
    expired = job.status == JobStatus.DONE and not job.file and job.kind == JobKind.EXPORT
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress, 4),
        "error": job.error,
        "format": (job.params.get("query", {}).get("format") or ["jsonl"])[0]
        if job.kind == JobKind.EXPORT
        else None,
        "result": job.result or None,
        "filename": job.filename,
        "size": job.size,
        "attempts": job.attempts,
        "created_by": job.created_by.username,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
        "expired": expired or bool(job.expires_at and job.expires_at <= timezone.now()),
    }
