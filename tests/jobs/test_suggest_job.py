"""The built-in suggester as a background job: started by curators and owners (API and corpus
page), run article by article with progress, idempotent, failed with a reason when it cannot."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from articles import suggester
from articles.jobs import runner, work
from articles.models import Article, Job, JobKind, JobStatus, Membership, Role, Suggestion
from articles.services import text_sha256

pytestmark = pytest.mark.django_db(transaction=True)

OPEDS = [
    "The agency published its figures on Monday. "
    "This export ban is a reckless mistake and lawmakers must repeal it. "
    "The report runs to forty pages.",
    "Critics are right that the rules punish domestic firms for nothing. "
    "The hearing lasted two hours.",
    "The minister spoke on Tuesday. "
    "Congress should end these controls before they do more damage to our industry.",
]


@pytest.fixture
def corpus3(team):
    """The team's corpus with three live articles that the suggester has claims in, and its
    first article in the trash (the job leaves it alone)."""
    team.article.deleted_at = timezone.now()
    team.article.save(update_fields=["deleted_at"])
    return [
        Article.objects.create(
            corpus=team.corpus, title=f"Op-ed {n}", text=text, text_sha256=text_sha256(text)
        )
        for n, text in enumerate(OPEDS, start=1)
    ]


def _url(team) -> str:
    return f"/api/v1/corpora/{team.corpus.slug}/suggest"


def test_the_api_starts_it_for_curators_and_owners_only(team, corpus3, client_for):
    for user, status in [(team.annotator, 403), (team.viewer, 403), (team.outsider, 404)]:
        assert client_for(user).post(_url(team), {}, format="json").status_code == status
    assert not Job.objects.exists()
    response = client_for(team.curator).post(_url(team), {}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == "suggest" and body["status"] == "queued"
    assert body["download"] is None and body["created_by"] == team.curator.username
    assert response["Location"] == f"/api/v1/jobs/{body['id']}"
    job = Job.objects.get(pk=body["id"])
    assert job.kind == JobKind.SUGGEST and job.params == {}
    assert DBTaskResult.objects.filter(pk=job.task_id, status="READY").exists()
    # Seen by who asked and by owners; not by another curator-less member.
    assert client_for(team.curator).get(f"/api/v1/jobs/{job.pk}").status_code == 200
    assert client_for(team.owner).get(f"/api/v1/jobs/{job.pk}").status_code == 200
    assert client_for(team.annotator).get(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert client_for(team.owner).post(_url(team), {}, format="json").status_code == 202


def test_articles_named_must_be_live_ones_of_the_corpus(team, corpus3, client_for):
    client = client_for(team.owner)
    bad = client.post(
        _url(team), {"articles": [corpus3[0].pk, team.article.pk, 999999]}, format="json"
    )
    assert bad.status_code == 400
    assert "articles" in str(bad.json())
    assert str(team.article.pk) in str(bad.json()) and "999999" in str(bad.json())
    huge = client.post(_url(team), {"articles": [2**80]}, format="json")
    assert huge.status_code == 400 and str(2**80) in str(huge.json())  # not a database error
    negative = client.post(_url(team), {"articles": [-3]}, format="json")
    assert negative.status_code == 400 and "articles" in str(negative.json())
    wrong_type = client.post(_url(team), {"articles": ["x"]}, format="json")
    assert wrong_type.status_code == 400 and "articles" in str(wrong_type.json())
    assert not Job.objects.exists()
    ok = client.post(_url(team), {"articles": [corpus3[1].pk]}, format="json")
    assert ok.status_code == 202
    job = Job.objects.get(pk=ok.json()["id"])
    assert runner.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.result == {"articles": 1, "suggestions": Suggestion.objects.count()}
    assert job.result["suggestions"] > 0
    assert set(Suggestion.objects.values_list("article", flat=True)) == {corpus3[1].pk}


def test_it_suggests_on_each_live_article_once(team, corpus3, client_for):
    response = client_for(team.curator).post(_url(team), {}, format="json")
    job = Job.objects.get(pk=response.json()["id"])
    assert runner.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.progress == 1.0 and job.error == ""
    assert not job.file
    per_article = {
        article.pk: list(
            Suggestion.objects.filter(article=article).values_list("model", "created_by")
        )
        for article in corpus3
    }
    assert all(rows for rows in per_article.values()), per_article
    assert {row for rows in per_article.values() for row in rows} == {
        (suggester.MODEL, team.curator.pk)
    }
    total = Suggestion.objects.count()
    assert job.result == {"articles": 3, "suggestions": total}
    assert not Suggestion.objects.filter(article=team.article).exists()  # in the trash
    exact = set(Suggestion.objects.values_list("exact", flat=True))
    assert "This export ban is a reckless mistake and lawmakers must repeal it." in exact
    # The API shows the counts; the job has no file to download.
    body = client_for(team.curator).get(f"/api/v1/jobs/{job.pk}").json()
    assert body["result"] == {"articles": 3, "suggestions": total}
    assert body["progress"] == 1.0 and body["download"] is None

    # Again: nothing new (the suggester skips what it suggested already).
    again = client_for(team.curator).post(_url(team), {}, format="json")
    second = Job.objects.get(pk=again.json()["id"])
    assert runner.run(str(second.pk)) == "done"
    second.refresh_from_db()
    assert second.result == {"articles": 3, "suggestions": 0}
    assert Suggestion.objects.count() == total


def test_progress_is_reported_per_article(team, corpus3, client_for):
    seen: list[float] = []

    class Recording:
        progress = 0.0

        def check(self) -> None:
            seen.append(self.progress)

    response = client_for(team.owner).post(_url(team), {}, format="json")
    job = Job.objects.select_related("corpus", "created_by").get(pk=response.json()["id"])
    beat = Recording()
    outcome = work.suggest(job, beat)  # type: ignore[arg-type]
    assert seen == [0.0, pytest.approx(1 / 3), pytest.approx(2 / 3)]
    assert beat.progress == 1.0
    assert outcome.result["articles"] == 3


def test_it_fails_with_the_reason_when_the_member_may_no_longer_review(team, corpus3, client_for):
    response = client_for(team.curator).post(_url(team), {}, format="json")
    job = Job.objects.get(pk=response.json()["id"])
    Membership.objects.filter(corpus=team.corpus, user=team.curator).update(role=Role.ANNOTATOR)
    assert runner.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "may no longer review" in job.error
    assert not Suggestion.objects.exists()


def test_an_unexpected_error_fails_it_and_a_passing_one_is_retried(
    team, corpus3, client_for, monkeypatch
):
    from django.db import OperationalError

    def broken(article, *args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(suggester, "suggest", broken)
    response = client_for(team.owner).post(_url(team), {}, format="json")
    job = Job.objects.get(pk=response.json()["id"])
    assert runner.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "ValueError" in job.error

    calls = {"n": 0}
    real = suggester.model.suggest

    def flaky(article, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("the database went away")
        return real(article, *args, **kwargs)

    monkeypatch.setattr(suggester, "suggest", flaky)
    response = client_for(team.owner).post(_url(team), {}, format="json")
    job = Job.objects.get(pk=response.json()["id"])
    assert runner.run(str(job.pk)) == "retried"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and "OperationalError" in job.error
    after_first = Suggestion.objects.count()
    assert after_first > 0  # the first article's suggestions are kept
    assert runner.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.attempts == 2
    # The retry added the rest, nothing twice.
    assert job.result["articles"] == 3
    assert Suggestion.objects.count() == after_first + job.result["suggestions"]
    assert set(Suggestion.objects.values_list("article", flat=True)) == {a.pk for a in corpus3}


def test_the_corpus_page_starts_it_and_the_jobs_page_shows_it(team, corpus3, client):
    client.force_login(team.curator)
    corpus_page = client.get(f"/corpora/{team.corpus.slug}/")
    assert b"Suggest claims on every article" in corpus_page.content
    response = client.post(f"/corpora/{team.corpus.slug}/jobs/suggest/")
    assert response.status_code == 302
    assert response["Location"] == f"/corpora/{team.corpus.slug}/jobs/"
    job = Job.objects.get()
    assert job.kind == JobKind.SUGGEST and job.created_by == team.curator
    # Ticked articles, through the list's bulk form.
    picked = client.post(
        f"/corpora/{team.corpus.slug}/jobs/suggest/", {"articles": [corpus3[0].pk]}
    )
    assert picked.status_code == 302
    assert Job.objects.filter(params={"articles": [corpus3[0].pk]}).exists()
    assert runner.run(str(job.pk)) == "done"
    page = client.get(f"/corpora/{team.corpus.slug}/jobs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Suggest claims" in html and "Start an export" not in html  # curators: no export
    assert f'href="/corpora/{team.corpus.slug}/suggestions/"' in html
    assert "on 3 articles" in html
    # Not a reviewer: 403; not a member: 404.
    client.force_login(team.annotator)
    assert client.post(f"/corpora/{team.corpus.slug}/jobs/suggest/").status_code == 403
    assert (
        b"Suggest claims on every article"
        not in client.get(f"/corpora/{team.corpus.slug}/").content
    )
    client.force_login(team.outsider)
    assert client.post(f"/corpora/{team.corpus.slug}/jobs/suggest/").status_code == 404
