"""What a worker does with one job.

1. Claim it: `queued -> running` in one conditional UPDATE, with a lease (`lease_until`) and
   the attempt number; a second task for the same job, or a task for a finished one, claims
   nothing and returns.
2. Work, while a heartbeat thread renews the lease and records the progress on its own
   database connection (the export itself reads inside one long transaction). If the lease was
   taken away (maintenance decided this worker was dead and queued the job again), the work
   stops and its partial file is deleted.
3. Write the file under a temporary name beside its final place, move it into place once
   complete, then mark the job done in the UPDATE that names the file, only if this attempt
   still holds the lease (else the file is removed: one job, one file).
4. On an error: a passing one (the database or the disk) is retried while attempts remain;
   anything else fails the job with the reason.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Job, JobKind, JobStatus
from . import work

logger = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
PARTIAL_DIR = ".partial"  # temporary files, inside the storage's folder when it has one


class LeaseLost(Exception):
    """This attempt no longer owns the job (it was given to another attempt)."""


class TransientError(Exception):
    """A failure worth another attempt."""


def _lease_end() -> Any:
    return timezone.now() + timedelta(seconds=settings.JOBS_LEASE_SECONDS)


def claim(job_id: str) -> Job | None:
    """Take the job if it is queued; None if it is not (running elsewhere, done, failed, gone)."""
    now = timezone.now()
    taken = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        lease_until=_lease_end(),
        started_at=now,
        worker=WORKER_ID,
        progress=0.0,
        error="",
    )
    if not taken:
        return None
    return Job.objects.select_related("corpus", "created_by").get(pk=job_id)


class Heartbeat:
    """Renews the lease and records progress every JOBS_HEARTBEAT_SECONDS, on its own thread
    (so on its own database connection, outside the export's transaction)."""

    def __init__(self, job: Job) -> None:
        self.job_id = job.pk
        self.attempt = job.attempts
        self.progress = 0.0
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{job.pk}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(f"job {self.job_id} was given to another attempt")

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    renewed = Job.objects.filter(
                        pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt
                    ).update(lease_until=_lease_end(), progress=min(self.progress, 0.99))
                except DatabaseError:  # a busy or restarting database: try again next beat
                    logger.warning("Job %s: heartbeat failed", self.job_id, exc_info=True)
                    continue
                if not renewed:
                    self.lost = True
                    return
        finally:
            connection.close()


def _partial_file(storage: Any) -> IO[bytes]:
    """A temporary file on the same file system as the storage's folder (so moving it into
    place is a rename), or anywhere for a remote storage (the upload is then the move)."""
    folder = None
    if isinstance(storage, FileSystemStorage):
        folder = os.path.join(storage.location, PARTIAL_DIR)
        os.makedirs(folder, exist_ok=True)
    return tempfile.NamedTemporaryFile(dir=folder, prefix="job-", suffix=".part", delete=False)


class _CompleteFile(File):
    """A finished temporary file; FileSystemStorage moves it into place instead of copying."""

    def temporary_file_path(self) -> str:
        return str(self.name)


def _finish(job: Job, heartbeat: Heartbeat, outcome: work.Outcome) -> None:
    storage = job.file.storage
    stored = ""
    if outcome.path is not None:
        with open(outcome.path, "rb") as complete:
            name = f"{job.pk}/{job.attempts}/{job.filename or 'export'}"
            stored = storage.save(name, _CompleteFile(complete, name=outcome.path))
    finished = timezone.now()
    with transaction.atomic():
        done = Job.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
        ).update(
            status=JobStatus.DONE,
            progress=1.0,
            file=stored,
            size=outcome.size,
            result=outcome.result,
            finished_at=finished,
            expires_at=finished + timedelta(hours=settings.JOBS_FILE_HOURS) if stored else None,
            lease_until=None,
        )
    if not done:
        if stored:
            storage.delete(stored)
        heartbeat.lost = True
        heartbeat.check()


def _end(job: Job, *, retry: bool, reason: str) -> str:
    """Queue the job again (retry) or fail it with the reason, if this attempt still owns it."""
    from .services import job_enqueue

    owned = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)
    if retry and job.attempts < settings.JOBS_MAX_ATTEMPTS:
        with transaction.atomic():
            if owned.update(status=JobStatus.QUEUED, lease_until=None, error=reason):
                job_enqueue(job)
        return "retried"
    owned.update(
        status=JobStatus.FAILED, error=reason, finished_at=timezone.now(), lease_until=None
    )
    return "failed"


def run(job_id: str, *, on_claimed: Callable[[Job], None] | None = None) -> str:
    """Run the job if it is waiting; say what became of it."""
    close_old_connections()
    job = claim(job_id)
    if job is None:
        return "not queued"
    if on_claimed is not None:
        on_claimed(job)
    partial: str | None = None
    outcome_name = "done"
    try:
        with Heartbeat(job) as heartbeat:
            if job.kind == JobKind.EXPORT:
                with _partial_file(job.file.storage) as out:
                    partial = out.name
                    outcome = work.export(job, out, heartbeat)
            elif job.kind == JobKind.SUGGEST:
                outcome = work.suggest(job, heartbeat)
            else:
                outcome = work.import_(job, heartbeat)
            if not outcome.finished:
                heartbeat.check()
                _finish(job, heartbeat, outcome)
    except LeaseLost:
        logger.warning("Job %s: attempt %s lost its lease; stopped", job.pk, job.attempts)
        outcome_name = "lease lost"
    except work.Refused as refusal:
        outcome_name = _end(job, retry=False, reason=str(refusal))
    except (DatabaseError, OSError, TransientError) as error:
        logger.warning("Job %s failed on attempt %s", job.pk, job.attempts, exc_info=True)
        outcome_name = _end(job, retry=True, reason=f"{type(error).__name__}: {error}")
    except Exception as error:
        logger.exception("Job %s failed", job.pk)
        outcome_name = _end(job, retry=False, reason=f"Unexpected error ({type(error).__name__}).")
    finally:
        if partial is not None and os.path.exists(partial):
            os.unlink(partial)
    if job.kind == JobKind.IMPORT and outcome_name in ("done", "failed"):
        work.drop_upload(job)  # an attempt that may run again keeps it
    return outcome_name


def new_worker_id() -> str:
    return f"{WORKER_ID}:{uuid.uuid4().hex[:8]}"
