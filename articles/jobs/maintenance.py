"""Keeping the jobs honest when nobody is watching: run by the worker every
JOBS_MAINTENANCE_SECONDS and by `manage.py jobs_maintenance` (e.g. from cron).

- A running job whose lease ran out lost its worker (killed, machine gone): it is queued again
  while attempts remain (JOBS_MAX_ATTEMPTS), else failed with the reason.
- A queued job whose task is gone (Redis was down when it was sent, or flushed) is sent again.
- A finished job's file is removed once it expires (JOBS_FILE_HOURS); the job stays listed,
  marked expired. Temporary files older than a lease (a killed worker's) are removed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils import timezone

from ..models import Job, JobKind, JobStatus
from .runner import PARTIAL_DIR
from .services import job_enqueue, queue_is_database, task_is_pending


@dataclass
class Report:
    requeued: int = 0
    failed: int = 0
    resent: int = 0
    expired: int = 0
    partials_removed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.requeued} requeued, {self.failed} failed, {self.resent} sent again, "
            f"{self.expired} files expired, {self.partials_removed} partial files removed"
        )


def reap_stale(report: Report) -> None:
    now = timezone.now()
    with transaction.atomic():
        stale = list(
            Job.objects.select_for_update(skip_locked=True).filter(
                status=JobStatus.RUNNING, lease_until__lt=now
            )
        )
        for job in stale:
            dead_task = job.task_id
            reason = (
                f"The worker running attempt {job.attempts} ({job.worker or 'unknown'}) stopped "
                f"answering; its lease ran out at {job.lease_until:%Y-%m-%d %H:%M:%S} UTC."
            )
            if job.attempts < settings.JOBS_MAX_ATTEMPTS:
                Job.objects.filter(pk=job.pk).update(
                    status=JobStatus.QUEUED, lease_until=None, error=reason
                )
                job_enqueue(job)
                report.requeued += 1
            else:
                Job.objects.filter(pk=job.pk).update(
                    status=JobStatus.FAILED,
                    lease_until=None,
                    finished_at=now,
                    error=f"{reason} Gave up after {job.attempts} attempts.",
                )
                report.failed += 1
                if job.kind == JobKind.IMPORT and job.params.get("upload"):
                    job.file.storage.delete(job.params["upload"])
            _forget_dead_task(dead_task)


def _forget_dead_task(task_id: str) -> None:
    """The database backend's record of the dead worker's task still says running: close it."""
    if not task_id or not queue_is_database():
        return
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path="articles.jobs.runner.LeaseLost",
        traceback="The worker stopped while running this task (its job's lease ran out).",
    )


def resend_lost(report: Report, *, older_than: float = 60.0) -> None:
    """Queued jobs whose task can no longer run them (not for the database queue, where the
    task row was committed with the job)."""
    if queue_is_database():
        return
    before = timezone.now() - timedelta(seconds=older_than)
    for job in Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=before):
        if not task_is_pending(job):
            job_enqueue(job)
            report.resent += 1


def remove_expired(report: Report) -> None:
    now = timezone.now()
    for job in Job.objects.filter(expires_at__lte=now).exclude(file=""):
        name = str(job.file.name)
        job.file.storage.delete(name)
        Job.objects.filter(pk=job.pk, file=name).update(file="")
        report.expired += 1
    storage = Job._meta.get_field("file").storage
    if isinstance(storage, FileSystemStorage):
        folder = os.path.join(storage.location, PARTIAL_DIR)
        if os.path.isdir(folder):
            limit = time.time() - 2 * settings.JOBS_LEASE_SECONDS
            for entry in os.scandir(folder):
                if entry.is_file() and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    report.partials_removed += 1


def maintain() -> Report:
    report = Report()
    reap_stale(report)
    resend_lost(report)
    remove_expired(report)
    return report
