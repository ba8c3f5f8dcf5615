"""An export reads one snapshot and lets writers go on meanwhile, on both databases.

On SQLite the app's transactions begin IMMEDIATE (they take the write lock at BEGIN); an export
reads in a transaction that begins DEFERRED instead (`streaming.reading`), so a writer on another
connection commits while the export reads, and the export still writes what was there when it
began. The data is committed here (a transactional test): another connection sees nothing of a
test's open transaction."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connection

from articles import exports
from articles.jobs import runner
from articles.models import Article
from tests.test_export_two_readers import _commit_elsewhere, _titles_format

pytestmark = pytest.mark.django_db(transaction=True)


def _commit_now(sql: str, params: tuple) -> None:
    """Commit `sql` on a connection of its own, waiting at most a second for a lock."""
    if connection.vendor == "postgresql":
        _commit_elsewhere(sql, params)
        return
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=1.0)
    try:
        other.execute("PRAGMA foreign_keys=ON")
        # "database is locked" after a second if the export held the write lock.
        other.execute(sql.replace("%s", "?"), params)
        other.commit()
    finally:
        other.close()


@pytest.fixture
def one_by_one(monkeypatch):
    """Batches of one article: the export reads, then a write commits, then it reads again."""
    from articles.exports import reader

    plan = reader._plan_batches
    monkeypatch.setattr(
        reader,
        "_plan_batches",
        lambda corpus, filters, run, size, size_bytes, first_page=None: plan(
            corpus, filters, run, 1, size_bytes, first_page
        ),
    )


def _rename_all(team) -> None:
    _commit_now(
        "UPDATE articles_article SET title = 'After' WHERE corpus_id = %s", (team.corpus.pk,)
    )


def test_a_writer_commits_while_an_export_reads_and_the_export_keeps_its_snapshot(team, one_by_one):
    for n in range(4):
        Article.objects.create(corpus=team.corpus, title=f"Before {n}", text=f"Text {n}.")
    spec = exports.ExportSpec(
        corpus=team.corpus, format=_titles_format(), filters=exports.ExportFilters()
    )
    lines = exports.stream(spec)
    first = next(lines)  # the export's transaction is open and has read its first batch
    _rename_all(team)  # fails (database is locked) if the export holds the write lock
    rest = list(lines)
    assert [first, *rest] == [b"Chips and policy\n"] + [f"Before {n}\n".encode() for n in range(4)]
    titles = set(Article.objects.filter(corpus=team.corpus).values_list("title", flat=True))
    assert titles == {"After"}


def test_the_exports_transaction_begins_without_the_write_lock_and_restores_the_mode(team):
    spec = exports.ExportSpec(
        corpus=team.corpus, format=_titles_format(), filters=exports.ExportFilters()
    )
    lines = exports.stream(spec)
    assert next(lines) == b"Chips and policy\n"
    assert connection.in_atomic_block
    lines.close()
    assert not connection.in_atomic_block
    if connection.vendor == "sqlite":
        # Every other transaction still begins IMMEDIATE (two writers queue, neither fails).
        assert connection.transaction_mode == "IMMEDIATE"


def test_inside_a_callers_transaction_the_export_reads_in_it(team):
    from django.db import transaction

    spec = exports.ExportSpec(
        corpus=team.corpus, format=_titles_format(), filters=exports.ExportFilters()
    )
    with transaction.atomic():
        Article.objects.create(corpus=team.corpus, title="Unsaved yet", text="Text.")
        assert b"".join(exports.stream(spec)) == b"Chips and policy\nUnsaved yet\n"
        assert connection.in_atomic_block


def test_a_job_export_reads_one_snapshot_while_its_heartbeat_and_writers_commit(
    team, one_by_one, monkeypatch, tmp_path
):
    """The job writes its file from one snapshot (SQLite read each batch as committed when it
    ran, so a change half-way showed in half the lines)."""
    from django.core.files.storage import FileSystemStorage

    from articles.jobs.services import job_export_start
    from articles.models import Job, JobStatus
    from articles.selectors import corpus_with_access

    monkeypatch.setattr(
        Job._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path / "jobs")
    )
    for n in range(4):
        Article.objects.create(corpus=team.corpus, title=f"Before {n}", text=f"Text {n}.")
    renamed: list[float] = []

    class RenamingOnce(runner.Heartbeat):
        def __setattr__(self, name, value):
            if name == "progress" and value and not renamed:
                renamed.append(value)
                _rename_all(team)  # after the first batch is written, before the others
            super().__setattr__(name, value)

    monkeypatch.setattr(runner, "Heartbeat", RenamingOnce)
    _corpus, access = corpus_with_access(team.owner, team.corpus.slug)
    job = job_export_start(access=access, params={"format": "jsonl"}, base_url="http://testserver/")
    assert runner.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert renamed  # the change was committed half-way through
    with job.file.open("rb") as written:
        titles = [line.split(b'"title":"')[1].split(b'"')[0] for line in written]
    assert titles == [b"Chips and policy"] + [f"Before {n}".encode() for n in range(4)]
