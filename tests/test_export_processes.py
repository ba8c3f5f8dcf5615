"""Exports on two processes (PostgreSQL, `exports.parallel`): a forked child writes every other
batch in the export's snapshot. The data is committed here (a transactional test): the child's
connection sees nothing of a test's open transaction. Batches of one article and no minimum
size, so that both processes write several."""

from __future__ import annotations

import os
import threading

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import exports
from articles.exports import parallel
from articles.exports import reader as export_reader
from articles.models import Article
from tests.test_exports import _golden_corpus

pytestmark = pytest.mark.django_db(transaction=True)

# Strings that quoting, escaping and spreadsheets get wrong, in titles, texts and notes.
HOSTILE = 'He said "no"\n=SUM(A1)\t+1 @x -2 \\ \u2028 😀 \U0001f9ea 中文 e\u0301 \x1f,;'


# The formats that write in two processes.
FORMATS = ["jsonl", "csv", "w3c"]


def _children_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("export-reader") and t.is_alive()]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_one_process_when_the_setting_is_off_or_the_database_is_not_postgresql(
    team, settings, monkeypatch
):
    forks: list = []
    monkeypatch.setattr(parallel._Child, "fork", lambda main: forks.append(main))
    for n in range(3):
        Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
    settings.EXPORT_PROCESSES = 1
    off = b"".join(exports.stream(spec))
    assert off.count(b"\n") == 4
    assert not forks
    settings.EXPORT_PROCESSES = 2
    monkeypatch.setattr(parallel, "MIN_ARTICLES", 1)
    monkeypatch.setattr(parallel, "KEEP_SECOND_PROCESS", False)
    with_setting = b"".join(exports.stream(spec))
    assert with_setting == off
    # SQLite writes its lines itself (`fragments`): never a second process.
    assert bool(forks) == (connection.vendor == "postgresql")


if connection.vendor == "postgresql":

    @pytest.fixture
    def two(monkeypatch, settings) -> list:
        """Fork from the first article on, batches of one article; the children forked (one
        per export: no resident second process, tests/test_export_resident.py)."""
        settings.EXPORT_PROCESSES = 2
        monkeypatch.setattr(parallel, "MIN_ARTICLES", 1)
        monkeypatch.setattr(parallel, "KEEP_SECOND_PROCESS", False)
        plan = parallel._plan_batches

        def one_by_one(corpus, filters, run, batch_size, batch_bytes, first_page=None):
            return plan(corpus, filters, run, 1, batch_bytes, first_page)

        monkeypatch.setattr(parallel, "_plan_batches", one_by_one)
        children: list = []
        fork = parallel._Child.fork

        def spy(main):
            child = fork(main)
            children.append(child)
            return child

        monkeypatch.setattr(parallel._Child, "fork", spy)
        return children

    def _reaped(child) -> bool:
        """Exited and reaped (a zombie still has its /proc entry)."""
        return not os.path.exists(f"/proc/{child.pid}")

    def _one_process(spec, settings) -> bytes:
        settings.EXPORT_PROCESSES = 1
        try:
            return b"".join(exports.stream(spec))
        finally:
            settings.EXPORT_PROCESSES = 2

    def _hostile_articles(team) -> None:
        for n in range(2):
            Article.objects.create(corpus=team.corpus, title=f"{HOSTILE} {n}", text=HOSTILE * 3)

    @pytest.mark.parametrize("fmt", FORMATS)
    @pytest.mark.parametrize(
        "params",
        [{}, {"annotator": ["anna"]}, {"gold_only": ["true"]}, {"status": ["submitted"]}],
        ids=["all", "annotator", "gold_only", "status"],
    )
    def test_two_processes_write_the_bytes_one_process_writes(team, two, settings, params, fmt):
        _golden_corpus(team)
        _hostile_articles(team)
        spec = exports.parse_export_params(team.corpus, {"format": [fmt], **params})
        fds = _open_fds()
        both = b"".join(exports.stream(spec))
        # The child writes the third batch on (of one article each here), if any.
        selected = spec.filters.select_articles(Article.objects.filter(corpus=team.corpus))
        assert len(two) == 1
        assert two[0].writes == (selected.alive().count() > parallel.FIRST_THEIRS)
        assert _reaped(two[0])
        assert _open_fds() == fds
        assert not _children_alive()
        one = _one_process(spec, settings)
        assert both == one
        assert both.endswith(b"\n")
        assert len(two) == 1
        if not params:
            assert two[0].writes

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_two_processes_write_articles_without_claims_as_one_does(team, two, settings, fmt):
        """Nothing to write in some batches, or in all of the child's (W3C: no item, no comma;
        CSV: the header alone)."""
        Article.objects.filter(corpus=team.corpus).delete()
        _hostile_articles(team)
        for n in range(3):
            Article.objects.create(corpus=team.corpus, title=f"Empty {n}", text=f"Text {n}.")
        spec = exports.parse_export_params(team.corpus, {"format": [fmt]})
        chunks = list(exports.stream(spec))
        assert all(chunks)  # no empty chunk (in HTTP's chunked encoding, the end)
        both = b"".join(chunks)
        assert two[0].writes
        assert both == _one_process(spec, settings)
        if fmt == "w3c":
            assert both.endswith(b'"items":[\n]},"total":0}\n')

    def test_the_child_reads_in_the_exports_snapshot(team, two, monkeypatch):
        """A change committed after the export began, before the child connects, is in none of
        the export's lines, the child's included."""
        from tests.test_export_two_readers import _commit_elsewhere

        for n in range(5):
            Article.objects.create(corpus=team.corpus, title=f"Before {n}", text=f"Text {n}.")
        connect = export_reader._connect_in_snapshot

        def after_a_change(wrapper, snapshot):  # in the child
            _commit_elsewhere(
                "UPDATE articles_article SET title = 'After' WHERE corpus_id = %s",
                (team.corpus.pk,),
            )
            return connect(wrapper, snapshot)

        monkeypatch.setattr(export_reader, "_connect_in_snapshot", after_a_change)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        body = b"".join(exports.stream(spec))
        assert two[0].writes
        assert body.count(b'"title":"Before ') == 5
        assert b'"title":"After"' not in body
        titles = set(Article.objects.filter(corpus=team.corpus).values_list("title", flat=True))
        assert titles == {"After"}

    @pytest.mark.parametrize("fmt", FORMATS)
    @pytest.mark.parametrize("failing", ["raises", "dies"])
    def test_a_failing_child_fails_the_export_in_the_parent(team, two, monkeypatch, failing, fmt):
        for n in range(6):
            Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
        parent = os.getpid()
        read = parallel._read_batch

        def in_the_child(filters, names, run, article_ids, parts):
            if os.getpid() != parent:
                if failing == "dies":
                    os._exit(3)
                raise ValueError("the child's batch failed")
            return read(filters, names, run, article_ids, parts)

        monkeypatch.setattr(parallel, "_read_batch", in_the_child)
        spec = exports.parse_export_params(team.corpus, {"format": [fmt]})
        fds = _open_fds()
        message = "the child's batch failed" if failing == "raises" else "ended without finishing"
        with pytest.raises(parallel.ExportProcessError, match=message):
            b"".join(exports.stream(spec))
        assert _reaped(two[0])
        assert _open_fds() == fds
        assert not _children_alive()
        # The export's connection is usable again.
        assert Article.objects.filter(corpus=team.corpus).count() == 7

    def test_a_child_that_plans_other_batches_fails_the_export(team, two, monkeypatch):
        """Its batches are checked against the parent's plan: never a silently wrong export."""
        for n in range(6):
            Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
        parent = os.getpid()
        plan = parallel._plan_batches  # the fixture's, batches of one

        def another_plan(*args, **kwargs):
            batches = plan(*args, **kwargs)
            if os.getpid() != parent:
                next(batches)  # one article fewer: the child's batches shift by one
            return batches

        monkeypatch.setattr(parallel, "_plan_batches", another_plan)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        with pytest.raises(parallel.ExportProcessError, match="wrote batch"):
            b"".join(exports.stream(spec))
        assert _reaped(two[0])
        assert not _children_alive()

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_an_abandoned_export_kills_and_reaps_the_child(team, two, fmt):
        _golden_corpus(team)
        for n in range(8):
            Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
        spec = exports.parse_export_params(team.corpus, {"format": [fmt]})
        fds = _open_fds()
        chunks = exports.stream(spec)
        try:
            assert next(chunks)
            if not two:  # CSV: the header came first
                assert next(chunks)
            # Still writing its share (W3C's first 256 KiB chunk holds this whole export).
            assert _reaped(two[0]) == (fmt == "w3c")
        finally:
            chunks.close()
        assert _reaped(two[0])
        assert _open_fds() == fds
        assert not _children_alive()
        assert Article.objects.filter(corpus=team.corpus).count() == 14

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_a_refused_connection_leaves_every_batch_to_the_parent(
        team, two, monkeypatch, settings, fmt
    ):
        _golden_corpus(team)
        _hostile_articles(team)

        def refused(wrapper, snapshot):  # in the child
            raise psycopg.OperationalError("too many clients already")

        monkeypatch.setattr(export_reader, "_connect_in_snapshot", refused)
        spec = exports.parse_export_params(team.corpus, {"format": [fmt]})
        alone = b"".join(exports.stream(spec))
        assert len(two) == 1 and not two[0].writes
        assert _reaped(two[0])
        assert alone == _one_process(spec, settings)
        assert alone

    def test_a_failed_fork_leaves_every_batch_to_the_parent(team, two, monkeypatch, settings):
        _golden_corpus(team)

        def no_fork():
            raise OSError("Resource temporarily unavailable")

        monkeypatch.setattr(parallel.os, "fork", no_fork)
        fds = _open_fds()
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        alone = b"".join(exports.stream(spec))
        assert two == [None]
        assert _open_fds() == fds
        assert alone == _one_process(spec, settings)
        assert alone.count(b"\n") == 5

    def test_no_fork_while_another_export_runs_in_the_process(team, two, settings):
        _golden_corpus(team)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        with export_reader.collector_paused():  # as another thread's export would
            beside = b"".join(exports.stream(spec))
        assert not two
        assert beside == _one_process(spec, settings)

    def test_below_the_minimum_the_export_keeps_one_process(team, two, monkeypatch, settings):
        _golden_corpus(team)
        monkeypatch.setattr(parallel, "MIN_ARTICLES", 6)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        body = b"".join(exports.stream(spec))
        assert not two
        assert body.count(b"\n") == 5
        monkeypatch.setattr(parallel, "MIN_ARTICLES", 5)
        assert b"".join(exports.stream(spec)) == body
        assert len(two) == 1

    def test_the_queries_of_an_export_on_two_processes_do_not_grow_with_the_corpus(team, two):
        assert _query_counts(team) == QUERIES_IN_TWO
        assert len(two) == 2


def _query_counts(team) -> list[int]:
    """The queries of a JSONL export of 3 articles, then of 7, counted on the export's
    connection (where a second process's queries are logged too)."""
    counts = []
    for articles in (3, 7):
        Article.objects.filter(corpus=team.corpus).delete()
        for n in range(articles):
            Article.objects.create(corpus=team.corpus, title=f"A {n}", text=f"Text {n}.")
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        with CaptureQueriesContext(connection) as captured:
            body = b"".join(exports.stream(spec))
        assert body.count(b"\n") == articles
        counts.append(len(captured))
    return counts


# On two processes, batches of one article: the transaction (its level, BEGIN, COMMIT), the
# query that finds the articles, the snapshot exported for the second process, then eight per
# batch, whichever process read it.
QUERIES_IN_TWO = [3 + 1 + 1 + 8 * 3, 3 + 1 + 1 + 8 * 7]
