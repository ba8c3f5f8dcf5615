"""A real worker process (`manage.py jobs_worker`) on this test's database, SQLite or
PostgreSQL: it runs a job queued through the API; killed in the middle of a job, it leaves no
file served as complete, and a worker started again finishes the job once, with one file."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from articles.models import Job, JobStatus
from tests.factories import ArticleFactory
from tests.test_shared_state import _database_url

from .conftest import files_in

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
LEASE = 2.0


def _worker_env(files: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "PYTEST", "JOBS_", "TASKS_", "CACHE_URL"))
    }
    env.update(
        DATABASE_URL=_database_url(),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_HTTPS="0",
        JOBS_FILES_DIR=str(files),
        JOBS_LEASE_SECONDS=str(LEASE),
        JOBS_HEARTBEAT_SECONDS="0.2",
        JOBS_MAINTENANCE_SECONDS="0.5",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@contextlib.contextmanager
def worker(files: Path, *, slow: float = 0.0, log: Path) -> Iterator[subprocess.Popen]:
    command = (
        [sys.executable, str(ROOT / "tests/jobs/slow_worker.py")]
        if slow
        else [sys.executable, "manage.py", "jobs_worker", "--interval", "0.1"]
    )
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_worker_env(files, SLOW_EXPORT_SECONDS=str(slow)),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def _wait(predicate, what: str, timeout: float = 60.0, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{tail}")


def _start_export(team, fmt: str = "jsonl") -> str:
    client = APIClient()
    client.force_authenticate(team.owner)
    response = client.post(
        f"/api/v1/corpora/{team.corpus.slug}/exports", {"format": fmt}, format="json"
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def _streamed(team, fmt: str = "jsonl") -> bytes:
    client = APIClient()
    client.force_authenticate(team.owner)
    response = client.get(f"/api/v1/corpora/{team.corpus.slug}/export?format={fmt}")
    return b"".join(response.streaming_content)


def _downloaded(team, job_id: str) -> bytes:
    client = APIClient()
    client.force_authenticate(team.owner)
    response = client.get(f"/api/v1/jobs/{job_id}/download")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_a_worker_process_runs_a_queued_export(team, jobs_storage, tmp_path):
    ArticleFactory.create_batch(20, corpus=team.corpus)
    job_id = _start_export(team, "w3c")
    log = tmp_path / "worker.log"
    with worker(Path(jobs_storage.location), log=log) as process:
        job = _wait(
            lambda: Job.objects.filter(pk=job_id, status=JobStatus.DONE).first(),
            "the job to finish",
            log=log,
        )
        process.send_signal(signal.SIGTERM)  # stops between jobs, cleanly
        assert process.wait(timeout=20) == 0
    assert job.attempts == 1
    assert _downloaded(team, job_id) == _streamed(team, "w3c")


def test_a_killed_worker_leaves_no_file_and_the_job_completes_once(team, jobs_storage, tmp_path):
    ArticleFactory.create_batch(79, corpus=team.corpus)  # 80 articles, 0.05 s each: 4 s
    job_id = _start_export(team)
    files = Path(jobs_storage.location)
    log = tmp_path / "worker.log"
    with worker(files, slow=0.05, log=log) as process:
        _wait(
            lambda: Job.objects.filter(
                pk=job_id, status=JobStatus.RUNNING, progress__gt=0
            ).exists(),
            "the job to make progress",
            log=log,
        )
        os.killpg(process.pid, signal.SIGKILL)  # no clean-up at all
        process.wait(timeout=15)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.RUNNING  # as the dead worker left it
    assert not job.file
    assert [name for name in files_in(jobs_storage) if not name.startswith(".partial/")] == []

    # The web side serves nothing for it meanwhile.
    client = APIClient()
    client.force_authenticate(team.owner)
    assert client.get(f"/api/v1/jobs/{job_id}").json()["download"] is None
    assert client.get(f"/api/v1/jobs/{job_id}/download").status_code == 409

    with worker(files, log=log):
        job = _wait(
            lambda: Job.objects.filter(pk=job_id, status=JobStatus.DONE).first(),
            "a new worker to finish the job",
            log=log,
        )
    assert job.attempts == 2
    assert "stopped answering" not in job.error  # cleared when the second attempt started
    finished = [name for name in files_in(jobs_storage) if not name.startswith(".partial/")]
    assert finished == [job.file.name]
    assert job.file.name.startswith(f"{job_id}/2/")
    assert _downloaded(team, job_id) == _streamed(team)


REDIS_TASKS = "redis://127.0.0.1:6379/11"


def test_on_redis_the_same_job_runs_with_no_code_change(team, jobs_storage, tmp_path):
    """TASKS_BACKEND=rq: the worker is an RQ worker. A job whose task never reached Redis (it
    was down when the request committed) is sent again by the worker's maintenance, then run."""
    import redis
    from django.utils import timezone

    connection = redis.Redis.from_url(REDIS_TASKS)
    connection.flushdb()
    job = Job.objects.create(
        corpus=team.corpus,
        kind="export",
        created_by=team.owner,
        params={"query": {"format": ["csv"]}, "base_url": "http://testserver/"},
        filename="chips.csv",
        content_type="text/csv",
    )
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    log = tmp_path / "worker.log"
    env = _worker_env(Path(jobs_storage.location), TASKS_BACKEND="rq", TASKS_REDIS_URL=REDIS_TASKS)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "jobs_worker"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        done = _wait(
            lambda: Job.objects.filter(pk=job.pk, status=JobStatus.DONE).first(),
            "the RQ worker to run the job",
            log=log,
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        # Warm shutdown: it leaves once its command channel's thread wakes (every second), not
        # after RQ's minute (longer than `docker compose stop`'s grace before SIGKILL).
        process.wait(timeout=15)
        connection.flushdb()
    assert done.task_id  # the id RQ gave the task
    assert done.attempts == 1
    assert _downloaded(team, str(job.pk)) == _streamed(team, "csv")


def test_the_rq_worker_wakes_its_command_channel_every_second():
    """A stopping RQ worker waits for its command channel's thread: that thread must not sleep
    for RQ's default minute."""
    import redis
    from rq import Queue

    from articles.jobs.rq_worker import CHANNEL_WAKE_SECONDS, Worker

    connection = redis.Redis.from_url(REDIS_TASKS)
    rq_worker = Worker([Queue("wake-test", connection=connection)], connection=connection)
    rq_worker.subscribe()
    try:
        assert rq_worker.pubsub_thread.sleep_time == CHANNEL_WAKE_SECONDS <= 1.0
    finally:
        rq_worker.unsubscribe()
    assert not rq_worker.pubsub_thread.is_alive()
