"""The jobs API: start an export (202), follow it, download its file; who sees which job;
bad input named; an import in the background; the jobs list's query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from articles.jobs import maintenance, runner
from articles.jobs.services import job_export_start
from articles.models import Article, Job, JobStatus, Membership, Role
from articles.selectors import corpus_with_access
from tests.factories import UserFactory


def _start(client, team, **body):
    return client.post(f"/api/v1/corpora/{team.corpus.slug}/exports", body, format="json")


@pytest.mark.django_db
def test_an_owner_starts_an_export_and_gets_202_with_the_job(team, client_for):
    response = _start(client_for(team.owner), team, format="brat", gold_only=True)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["format"] == "brat"
    assert body["download"] is None
    assert response["Location"] == f"/api/v1/jobs/{body['id']}"
    job = Job.objects.get(pk=body["id"])
    assert job.params["query"] == {"format": ["brat"], "gold_only": ["true"]}
    assert job.filename == "chips.zip"
    assert DBTaskResult.objects.filter(pk=job.task_id, status="READY").count() == 1


@pytest.mark.django_db
def test_the_task_is_queued_in_the_requests_transaction(team):
    _corpus, access = corpus_with_access(team.owner, team.corpus.slug)
    with pytest.raises(RuntimeError), transaction.atomic():
        job_export_start(access=access, params={"format": "csv"}, base_url="http://x/")
        raise RuntimeError("the request failed after starting the job")
    assert Job.objects.count() == 0
    assert DBTaskResult.objects.count() == 0  # no task for a job that never was


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "docx"}, "format"),
        ({"format": "jsonl", "updated_since": "last week"}, "updated_since"),
        ({"format": "jsonl", "status": "sealed"}, "status"),
        ({"format": "jsonl", "article": ["not-an-id"]}, "article"),
    ],
)
def test_bad_export_parameters_are_named_and_nothing_is_queued(team, client_for, body, field):
    response = _start(client_for(team.owner), team, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Job.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db
def test_who_may_start_an_export(team, client_for, anon):
    assert _start(client_for(team.curator), team, format="csv").status_code == 403
    assert _start(client_for(team.annotator), team, format="csv").status_code == 403
    assert _start(client_for(team.outsider), team, format="csv").status_code == 404
    assert _start(anon, team, format="csv").status_code == 401
    assert Job.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_job_is_seen_by_who_asked_and_by_owners_only(team, client_for):
    second_owner = UserFactory(username="oona")
    Membership.objects.create(corpus=team.corpus, user=second_owner, role=Role.OWNER)
    job_id = _start(client_for(team.owner), team, format="jsonl").json()["id"]
    runner.run(job_id)
    url, download = f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/download"
    for user in (team.owner, second_owner):
        body = client_for(user).get(url).json()
        assert body["status"] == "done"
        assert body["progress"] == 1
        assert body["download"] == f"http://testserver{download}"
        response = client_for(user).get(download)
        assert response.status_code == 200
        assert response["Content-Disposition"] == 'attachment; filename="chips.jsonl"'
        assert response["Content-Type"] == "application/x-ndjson"
        assert b"".join(response.streaming_content).startswith(b'{"')
    for user in (team.curator, team.annotator, team.viewer, team.outsider):
        assert client_for(user).get(url).status_code == 404
        assert client_for(user).get(download).status_code == 404
        assert (
            client_for(user)
            .get(f"/api/v1/corpora/{team.corpus.slug}/jobs")
            .json()
            .get("results", [])
            == []
        )
    # Who asked, once no longer allowed to export, no longer sees it; the other owner still does.
    Membership.objects.filter(corpus=team.corpus, user=team.owner).update(role=Role.CURATOR)
    assert client_for(team.owner).get(url).status_code == 404
    assert client_for(team.owner).get(download).status_code == 404
    assert client_for(second_owner).get(url).status_code == 200
    assert client_for(team.owner).get("/api/v1/jobs/not-a-uuid").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_download_before_done_is_409_and_after_expiry_410(team, client_for):
    client = client_for(team.owner)
    job_id = _start(client, team, format="csv").json()["id"]
    response = client.get(f"/api/v1/jobs/{job_id}/download")
    assert response.status_code == 409
    assert "queued" in response.json()["detail"]
    runner.run(job_id)
    assert client.get(f"/api/v1/jobs/{job_id}/download").status_code == 200
    Job.objects.filter(pk=job_id).update(expires_at=timezone.now() - timedelta(minutes=1))
    body = client.get(f"/api/v1/jobs/{job_id}").json()
    assert (body["expired"], body["download"]) == (True, None)
    assert client.get(f"/api/v1/jobs/{job_id}/download").status_code == 410
    maintenance.maintain()
    assert client.get(f"/api/v1/jobs/{job_id}/download").status_code == 410


@pytest.mark.django_db(transaction=True)
def test_a_failed_job_says_why(team, client_for):
    client = client_for(team.owner)
    job_id = _start(client, team, format="csv").json()["id"]
    Membership.objects.filter(corpus=team.corpus, user=team.owner).update(role=Role.CURATOR)
    runner.run(job_id)
    Membership.objects.filter(corpus=team.corpus, user=team.owner).update(role=Role.OWNER)
    body = client.get(f"/api/v1/jobs/{job_id}").json()
    assert body["status"] == "failed"
    assert "may no longer export" in body["error"]
    assert body["download"] is None


@pytest.mark.django_db(transaction=True)
def test_an_import_in_the_background(team, client_for, jobs_storage):
    client = client_for(team.owner)
    lines = b"".join(
        b'{"title": "Background %d", "text": "An article imported later."}\n' % n for n in range(3)
    )
    response = client.post(
        f"/api/v1/corpora/{team.corpus.slug}/import?background=true",
        lines,
        content_type="application/x-ndjson",
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response.json()["kind"] == "import"
    assert not Article.objects.filter(title__startswith="Background").exists()
    assert jobs_storage.exists(f"{job_id}/upload")
    assert runner.run(job_id) == "done"
    body = client.get(f"/api/v1/jobs/{job_id}").json()
    assert body["status"] == "done"
    assert body["result"]["articles"] == 3
    assert body["download"] is None  # an import has no file to download
    assert Article.objects.filter(title__startswith="Background").count() == 3
    assert not jobs_storage.exists(f"{job_id}/upload")  # the upload is removed once done


@pytest.mark.django_db(transaction=True)
def test_a_background_import_with_a_bad_line_fails_with_every_reason(team, client_for):
    client = client_for(team.owner)
    response = client.post(
        f"/api/v1/corpora/{team.corpus.slug}/import?background=1",
        b'{"title": "Fine", "text": "Fine."}\n{"title": ""}\n',
        content_type="application/x-ndjson",
    )
    job_id = response.json()["id"]
    assert runner.run(job_id) == "failed"
    body = client.get(f"/api/v1/jobs/{job_id}").json()
    assert body["status"] == "failed"
    assert "line 2" in body["error"]
    assert not Article.objects.filter(title="Fine").exists()  # all or nothing


@pytest.mark.django_db
def test_background_must_be_a_boolean(team, client_for):
    response = client_for(team.owner).post(
        f"/api/v1/corpora/{team.corpus.slug}/import?background=later",
        b'{"title": "T", "text": "T."}\n',
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    assert "background" in response.json()["errors"]
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("jobs", [1, 12])
def test_the_jobs_list_runs_a_fixed_number_of_queries(
    team, client_for, django_assert_num_queries, jobs
):
    for _ in range(jobs):
        Job.objects.create(corpus=team.corpus, kind="export", created_by=team.owner)
    client = client_for(team.owner)
    url = reverse("api-corpus-jobs", kwargs={"slug": team.corpus.slug})
    # The corpus with the caller's role, one page of jobs with who asked.
    with django_assert_num_queries(2):
        response = client.get(url)
    assert len(response.json()["results"]) == jobs
    assert {row["status"] for row in response.json()["results"]} == {JobStatus.QUEUED}
