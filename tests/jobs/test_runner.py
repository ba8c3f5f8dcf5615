"""What a worker does with a job: claim under a lease, progress, the file put in place once,
retries, failures with reasons, lease lost; and the maintenance (dead workers, expiry)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from articles.jobs import maintenance, runner, work
from articles.jobs.services import job_export_start
from articles.models import Job, JobStatus, Membership, Role
from articles.selectors import corpus_with_access
from tests.factories import ArticleFactory

from .conftest import files_in

pytestmark = pytest.mark.django_db(transaction=True)


def _start(team, **params) -> Job:
    _corpus, access = corpus_with_access(team.owner, team.corpus.slug)
    return job_export_start(access=access, params=params, base_url="http://testserver/")


def _stream_export(team, query: str = "format=jsonl") -> bytes:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(team.owner)
    response = client.get(f"/api/v1/corpora/{team.corpus.slug}/export?{query}")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_export_job_writes_the_same_bytes_as_the_streamed_export(team, jobs_storage):
    ArticleFactory.create_batch(5, corpus=team.corpus)
    job = _start(team, format="jsonl")
    assert job.status == JobStatus.QUEUED
    # The task was queued in the same transaction, on the database backend.
    assert DBTaskResult.objects.filter(pk=job.task_id, status="READY").exists()
    assert runner.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.progress == 1.0
    assert job.attempts == 1
    assert job.expires_at > timezone.now() + timedelta(hours=23)
    with job.file.open("rb") as written:
        content = written.read()
    assert content == _stream_export(team)
    assert job.size == len(content)
    # Exactly one file, no partial left behind.
    assert files_in(jobs_storage) == [job.file.name]


def test_a_second_run_of_the_same_job_does_nothing(team, jobs_storage):
    job = _start(team, format="csv")
    assert runner.run(str(job.pk)) == "done"
    assert runner.run(str(job.pk)) == "not queued"
    assert len(files_in(jobs_storage)) == 1


def test_progress_counts_the_articles_written(team, monkeypatch):
    ArticleFactory.create_batch(119, corpus=team.corpus)  # 120 with the team's article
    seen: list[float] = []

    class Recording(runner.Heartbeat):
        def __setattr__(self, name, value):
            if name == "progress":
                seen.append(value)
            super().__setattr__(name, value)

    monkeypatch.setattr(runner, "Heartbeat", Recording)
    job = _start(team, format="jsonl")
    runner.run(str(job.pk))
    # The reader hands over a first batch of 50, then the rest.
    assert seen == [0.0, 50 / 120, 1.0]


def test_the_heartbeat_records_progress_and_renews_the_lease(team):
    job = _start(team, format="jsonl")
    claimed = runner.claim(str(job.pk))
    assert claimed is not None
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() + timedelta(seconds=1))
    with runner.Heartbeat(claimed) as heartbeat:
        heartbeat.progress = 0.5
        deadline = time.monotonic() + 10
        while Job.objects.get(pk=job.pk).progress != 0.5 and time.monotonic() < deadline:
            time.sleep(0.02)
    row = Job.objects.get(pk=job.pk)
    assert row.progress == 0.5
    assert row.lease_until > timezone.now() + timedelta(seconds=20)
    assert not heartbeat.lost


def test_a_passing_error_is_retried_then_succeeds(team, monkeypatch):
    real = work.export
    calls = []

    def flaky(job, out, heartbeat):
        calls.append(job.attempts)
        if len(calls) == 1:
            out.write(b"half a file")
            raise OperationalError("server closed the connection unexpectedly")
        return real(job, out, heartbeat)

    monkeypatch.setattr(work, "export", flaky)
    job = _start(team, format="jsonl")
    first_task = Job.objects.get(pk=job.pk).task_id
    assert runner.run(str(job.pk)) == "retried"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert "server closed the connection" in job.error
    assert not job.file
    assert job.task_id != first_task  # a new task was queued for the next attempt
    assert DBTaskResult.objects.filter(pk=job.task_id, status="READY").exists()
    assert runner.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (JobStatus.DONE, 2, "")
    with job.file.open("rb") as written:
        assert b"half a file" not in written.read()


def test_after_the_last_attempt_the_job_fails_with_the_reason(team, monkeypatch, settings):
    settings.JOBS_MAX_ATTEMPTS = 2

    def broken(job, out, heartbeat):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(work, "export", broken)
    job = _start(team, format="jsonl")
    assert runner.run(str(job.pk)) == "retried"
    assert runner.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.attempts == 2
    assert "No space left on device" in job.error
    assert job.finished_at is not None


def test_a_member_who_may_no_longer_export_gets_a_failed_job(team, jobs_storage):
    job = _start(team, format="jsonl")
    Membership.objects.filter(corpus=team.corpus, user=team.owner).update(role=Role.CURATOR)
    assert runner.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.attempts == 1  # not retried: it would fail the same way
    assert "may no longer export" in job.error
    assert files_in(jobs_storage) == []


def test_an_attempt_whose_lease_was_taken_keeps_no_file(team, jobs_storage, monkeypatch):
    real = work.export

    def taken_meanwhile(job, out, heartbeat):
        outcome = real(job, out, heartbeat)
        # Maintenance gave the job to another attempt while this one was writing.
        Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, lease_until=None)
        return outcome

    monkeypatch.setattr(work, "export", taken_meanwhile)
    job = _start(team, format="jsonl")
    assert runner.run(str(job.pk)) == "lease lost"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert not job.file
    assert files_in(jobs_storage) == []


def test_maintenance_requeues_a_job_whose_worker_died(team):
    job = _start(team, format="jsonl")
    task_id = Job.objects.get(pk=job.pk).task_id
    claimed = runner.claim(str(job.pk))
    assert claimed is not None
    DBTaskResult.objects.filter(pk=task_id).update(status="RUNNING")  # as the dead worker left it
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    report = maintenance.maintain()
    assert report.requeued == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert "stopped answering" in job.error
    assert DBTaskResult.objects.get(pk=task_id).status == "FAILED"
    assert DBTaskResult.objects.get(pk=job.task_id).status == "READY"
    assert runner.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.attempts == 2


def test_maintenance_fails_a_job_out_of_attempts(team, settings):
    settings.JOBS_MAX_ATTEMPTS = 1
    job = _start(team, format="jsonl")
    runner.claim(str(job.pk))
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert maintenance.maintain().failed == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "Gave up after 1 attempts" in job.error


def test_a_live_lease_is_left_alone(team):
    job = _start(team, format="jsonl")
    runner.claim(str(job.pk))
    report = maintenance.maintain()
    assert (report.requeued, report.failed) == (0, 0)
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_expired_files_are_removed(team, jobs_storage):
    job = _start(team, format="jsonl")
    runner.run(str(job.pk))
    job.refresh_from_db()
    name = job.file.name
    assert maintenance.maintain().expired == 0
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert maintenance.maintain().expired == 1
    job.refresh_from_db()
    assert not job.file
    assert not jobs_storage.exists(name)
    assert job.status == JobStatus.DONE


def test_old_partial_files_are_removed(team, jobs_storage, settings):
    import os

    settings.JOBS_LEASE_SECONDS = 1
    folder = os.path.join(jobs_storage.location, runner.PARTIAL_DIR)
    os.makedirs(folder)
    old = os.path.join(folder, "job-dead.part")
    with open(old, "wb") as partial:
        partial.write(b"half")
    os.utime(old, (time.time() - 60, time.time() - 60))
    assert maintenance.maintain().partials_removed == 1
    assert not os.path.exists(old)
