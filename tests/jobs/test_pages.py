"""The jobs page: owners start an export from it or from the corpus page's export menu; the
list refreshes itself while a job is queued or running; finished files have a download link."""

from __future__ import annotations

import pytest
from django.urls import reverse

from articles.jobs import runner
from articles.models import Job, JobStatus

pytestmark = pytest.mark.django_db


def _jobs_url(team) -> str:
    return reverse("corpus-jobs", args=[team.corpus.slug])


def test_the_corpus_menu_starts_a_background_export(client, team):
    client.force_login(team.owner)
    page = client.get(reverse("corpus", args=[team.corpus.slug])).content.decode()
    start = reverse("corpus-export-start", args=[team.corpus.slug])
    assert f'action="{start}"' in page
    assert 'name="format" value="brat"' in page
    response = client.post(start, {"format": "brat"})
    assert response.status_code == 302
    assert response["Location"] == _jobs_url(team)
    job = Job.objects.get()
    assert (job.created_by, job.status, job.params["query"]) == (
        team.owner,
        JobStatus.QUEUED,
        {"format": ["brat"]},
    )
    page = client.get(_jobs_url(team)).content.decode()
    assert "Export to brat started" in page
    assert f'data-job="{job.pk}" data-status="queued"' in page


def test_a_bad_format_is_named_and_nothing_starts(client, team):
    client.force_login(team.owner)
    response = client.post(
        reverse("corpus-export-start", args=[team.corpus.slug]), {"format": "docx"}
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert "docx is not one of the available choices" in response.content.decode()
    assert Job.objects.count() == 0


def test_only_owners_export_and_curators_see_the_page_without_the_form(client, team):
    start = reverse("corpus-export-start", args=[team.corpus.slug])
    for user, status in [(team.curator, 403), (team.annotator, 403), (team.outsider, 404)]:
        client.force_login(user)
        assert client.post(start, {"format": "csv"}).status_code == status
    # The page: curators follow their suggest jobs there, without the export form.
    for user, status in [(team.annotator, 403), (team.viewer, 403), (team.outsider, 404)]:
        client.force_login(user)
        assert client.get(_jobs_url(team)).status_code == status
    client.force_login(team.curator)
    page = client.get(_jobs_url(team))
    assert page.status_code == 200 and b"Start an export" not in page.content
    assert Job.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_list_polls_while_a_job_runs_and_links_the_file_once_done(client, team):
    client.force_login(team.owner)
    client.post(reverse("corpus-export-start", args=[team.corpus.slug]), {"format": "csv"})
    job = Job.objects.get()
    fragment = client.get(_jobs_url(team), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="job-list"')
    assert 'hx-trigger="every 2s"' in fragment
    runner.run(str(job.pk))
    fragment = client.get(_jobs_url(team), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment  # nothing left to wait for: no more polling
    download = reverse("api-job-download", kwargs={"id": job.pk})
    assert f'href="{download}"' in fragment
    # The session that sees the link may follow it (the API accepts the session for GET).
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"article_id,article_title,")
