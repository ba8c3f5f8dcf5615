"""The export's resident second process (PostgreSQL, `exports.parallel.Resident`): kept between
exports, it writes every other batch from the second on, in each export's snapshot. The data is
committed here (a transactional test): the resident's connection sees nothing of a test's open
transaction. Batches of one article and no minimum size, so that both processes write several;
each test starts and ends without a resident, so that it is forked by the test's first export
(with the test's patches)."""

from __future__ import annotations

import os
import signal
import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from articles import exports
from articles.exports import parallel
from articles.exports import reader as export_reader
from articles.models import Article
from tests.test_export_processes import FORMATS, QUERIES_IN_TWO, _query_counts
from tests.test_exports import _golden_corpus

pytestmark = pytest.mark.django_db(transaction=True)


def _current():
    return parallel.Resident._current


def _stop_any() -> None:
    if (resident := _current()) is not None:
        resident.stop()


def _alive(pid: int) -> bool:
    """Running (a zombie, exited and not reaped, still has its /proc entry: not running)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _readers_alive() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("export-reader") and t.is_alive()]


if connection.vendor == "postgresql":

    @pytest.fixture
    def resident(monkeypatch, settings):
        """Exports of a few articles go to the resident, in batches of one article."""
        settings.EXPORT_PROCESSES = 2
        monkeypatch.setattr(parallel, "RESIDENT_MIN_ARTICLES", 1)
        monkeypatch.setattr(export_reader, "ARTICLES_PER_BATCH", 1)
        _stop_any()
        yield
        _stop_any()

    from tests.test_export_processes import _hostile_articles, _one_process

    @pytest.mark.parametrize("fmt", FORMATS)
    @pytest.mark.parametrize(
        "params",
        [{}, {"annotator": ["anna"]}, {"gold_only": ["true"]}],
        ids=["all", "annotator", "gold_only"],
    )
    def test_the_resident_writes_the_bytes_one_process_writes_export_after_export(
        team, resident, settings, monkeypatch, params, fmt
    ):
        _golden_corpus(team)
        _hostile_articles(team)
        spec = exports.parse_export_params(team.corpus, {"format": [fmt], **params})
        jobs: list = []
        run = parallel.Resident.run

        def counted(self, job, **kwargs):
            jobs.append(self.pid)
            return run(self, job, **kwargs)

        monkeypatch.setattr(parallel.Resident, "run", counted)
        first = b"".join(exports.stream(spec))
        second = b"".join(exports.stream(spec))
        # One process, kept: the second export did not fork another.
        assert len(jobs) == 2 and jobs[0] == jobs[1] and _alive(jobs[0])
        assert _current() is not None and not _current().busy
        assert not _readers_alive()
        one = _one_process(spec, settings)
        assert first == second == one
        assert first

    def test_the_resident_reads_in_the_exports_snapshot(team, resident, monkeypatch):
        """A change committed after the export began, before the resident begins its share, is
        in none of the export's lines, the resident's included."""
        from tests.test_export_two_readers import _commit_elsewhere

        for n in range(5):
            Article.objects.create(corpus=team.corpus, title=f"Before {n}", text=f"Text {n}.")
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        assert b"".join(exports.stream(spec)).count(b'"title":"Before ') == 5  # it is started
        run = parallel.Resident.run

        def after_a_change(self, job, **kwargs):  # the snapshot is exported: then the change
            _commit_elsewhere(
                "UPDATE articles_article SET title = 'After' WHERE corpus_id = %s",
                (team.corpus.pk,),
            )
            return run(self, job, **kwargs)

        monkeypatch.setattr(parallel.Resident, "run", after_a_change)
        body = b"".join(exports.stream(spec))
        assert body.count(b'"title":"Before ') == 5
        assert b'"title":"After"' not in body
        titles = set(Article.objects.filter(corpus=team.corpus).values_list("title", flat=True))
        assert titles == {"After"}

    @pytest.mark.parametrize("failing", ["raises", "dies"])
    def test_a_failing_resident_fails_the_export_and_the_next_export_starts_another(
        team, resident, monkeypatch, settings, failing
    ):
        for n in range(6):
            Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
        parent = os.getpid()
        read = parallel._read_batch

        def in_the_resident(filters, names, run, article_ids, parts):
            if os.getpid() != parent:
                if failing == "dies":
                    os._exit(3)
                raise ValueError("the resident's batch failed")
            return read(filters, names, run, article_ids, parts)

        monkeypatch.setattr(parallel, "_read_batch", in_the_resident)  # before it is forked
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        message = "the resident's batch failed" if failing == "raises" else "without finishing"
        with pytest.raises(parallel.ExportProcessError, match=message):
            b"".join(exports.stream(spec))
        assert _current() is None  # ended and reaped
        assert not _readers_alive()
        monkeypatch.setattr(parallel, "_read_batch", read)
        again = b"".join(exports.stream(spec))  # another one, forked now
        assert _current() is not None
        assert again == _one_process(spec, settings)
        assert again.count(b"\n") == 7

    def test_an_abandoned_export_ends_the_resident(team, resident, settings):
        _golden_corpus(team)
        for n in range(8):
            Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        chunks = exports.stream(spec)
        assert next(chunks)
        pid = _current().pid
        chunks.close()
        assert _current() is None and not _alive(pid)
        assert not _readers_alive()
        assert Article.objects.filter(corpus=team.corpus).count() == 14
        assert b"".join(exports.stream(spec)) == _one_process(spec, settings)

    def test_a_resident_killed_between_exports_is_replaced(team, resident, settings):
        _golden_corpus(team)
        spec = exports.parse_export_params(team.corpus, {"format": ["csv"]})
        before = b"".join(exports.stream(spec))
        killed = _current().pid
        os.kill(killed, signal.SIGKILL)
        # This export finds it gone (and writes every batch itself, or has a new one).
        assert b"".join(exports.stream(spec)) == before
        assert not _alive(killed)
        assert b"".join(exports.stream(spec)) == before
        assert _current() is not None and _current().pid != killed

    def test_a_resident_without_a_connection_leaves_every_batch_to_the_parent(
        team, resident, monkeypatch, settings
    ):
        _golden_corpus(team)

        def refused(self, **parameters):  # in the resident too: patched before it is forked
            raise psycopg.OperationalError("too many clients already")

        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        with monkeypatch.context() as patch:
            patch.setattr(type(connections["default"]), "connect_beside", refused)
            alone = b"".join(exports.stream(spec))
        kept = _current()
        assert kept is not None and _alive(kept.pid) and not kept.busy  # kept all the same
        settings.EXPORT_PROCESSES = 1
        assert alone == b"".join(exports.stream(spec))
        assert alone.count(b"\n") == 5

    def test_the_resident_drops_its_connection_with_the_exports(team, resident):
        """When the Django connection that gave it a job closes (a test database is dropped
        after that), the resident closes its own."""
        _golden_corpus(team)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        b"".join(exports.stream(spec))
        name = connection.settings_dict["NAME"]

        def residents() -> int:
            """The residents' connections to this test's database (named so to the server)."""
            settings = connection.settings_dict
            with psycopg.connect(
                dbname=name, user=settings["USER"], host=settings["HOST"],
                port=settings["PORT"] or None, autocommit=True,
            ) as watcher:  # fmt: skip
                return watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                    " AND application_name = %s",
                    (name, parallel.RESIDENT_APPLICATION),
                ).fetchone()[0]

        assert residents() == 1
        connection.close()
        deadline = time.monotonic() + 10
        while residents() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert residents() == 0
        assert _alive(_current().pid)  # the process is kept: it connects again for a job
        assert b"".join(exports.stream(spec)).count(b"\n") == 5

    def test_the_queries_of_an_export_with_the_resident_do_not_grow_with_the_corpus(team, resident):
        assert _query_counts(team) == QUERIES_IN_TWO
        assert _current() is not None

    def test_a_worker_starts_its_resident_unless_exports_keep_one_process(settings):
        _stop_any()
        settings.EXPORT_PROCESSES = 1
        parallel.Resident.start_at_worker_start()
        assert _current() is None
        settings.EXPORT_PROCESSES = 2
        parallel.Resident.start_at_worker_start()
        started = _current()
        assert started is not None and _alive(started.pid) and not started.busy
        started.stop()
        assert _current() is None and not _alive(started.pid)

else:

    def test_sqlite_exports_start_no_resident(team, settings):
        settings.EXPORT_PROCESSES = 2
        _golden_corpus(team)
        parallel.Resident.start_at_worker_start()
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        assert b"".join(exports.stream(spec)).count(b"\n") == 5
        assert _current() is None
