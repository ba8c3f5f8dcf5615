"""Exports read by two readers on PostgreSQL: the export's connection and a second one in the
same snapshot (`reader._read_in_two`). The data is committed here (a transactional test): a
second connection sees nothing of a test's open transaction. On SQLite the export keeps its
one reader, and the same tests check that it does."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection, connections
from psycopg import pq

from articles import exports
from articles.exports import fragments as export_fragments
from articles.exports import reader as export_reader
from articles.exports.spec import ExportFormat
from articles.models import Article
from articles.side import side_connection
from tests.test_exports import _all_bytes, _golden_corpus

pytestmark = pytest.mark.django_db(transaction=True)

TWO_READERS = connection.vendor == "postgresql"


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of one article, so that both readers read several."""
    plan = export_reader._plan_batches

    def one_by_one(corpus, filters, run, batch_size, batch_bytes, first_page=None):
        return plan(corpus, filters, run, 1, batch_bytes, first_page)

    monkeypatch.setattr(export_reader, "_plan_batches", one_by_one)


@pytest.fixture
def reader_only(monkeypatch):
    """JSONL through the reader on SQLite too (not the lines SQLite writes: `fragments`), for
    the tests that make the reader fail."""
    monkeypatch.setattr(export_fragments, "available", lambda using=None: False)


@pytest.fixture
def second_connections(monkeypatch) -> list:
    """The second readers' connections, one per export that had one (the kept side connection,
    or a new one)."""
    opened: list = []
    begin = export_reader._in_snapshot

    def spy(side, snapshot):
        raw = begin(side, snapshot)
        if raw is not None:
            opened.append(raw)
        return raw

    monkeypatch.setattr(export_reader, "_in_snapshot", spy)
    return opened


def _kept_idle(raw) -> bool:
    """Open and outside any transaction: ready for the next export."""
    return not raw.closed and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE


def _readers_alive() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("export-reader") and t.is_alive()]


@pytest.mark.parametrize("fmt", ["jsonl", "w3c", "brat", "csv", "aif"])
@pytest.mark.parametrize(
    "params",
    [{}, {"annotator": ["anna"]}, {"gold_only": ["true"]}],
    ids=["all", "annotator", "gold_only"],
)
def test_two_readers_write_the_bytes_one_reader_writes(
    team, monkeypatch, small_batches, second_connections, fmt, params
):
    _golden_corpus(team)
    spec = exports.parse_export_params(team.corpus, {"format": [fmt], **params})
    selected = spec.filters.select_articles(Article.objects.filter(corpus=team.corpus)).alive()
    # A second connection for a second batch (of one article here), on PostgreSQL.
    opens = 1 if TWO_READERS and selected.count() > 1 else 0
    two = _all_bytes(spec)
    assert len(second_connections) == opens
    assert all(_kept_idle(opened) for opened in second_connections)
    # The same export with the snapshot not shared: one reader.
    monkeypatch.setattr(
        export_reader, "SNAPSHOT_SHAREABLE", export_reader.ContextVar("off", default=False)
    )
    one = _all_bytes(spec)
    assert len(second_connections) == opens
    assert two == one
    assert two
    assert not _readers_alive()


def _titles_format() -> ExportFormat:
    """A format writing each article's title on its own, as the reader hands it over."""

    def write(spec):
        for article in exports.read_articles(spec.corpus, spec.filters):
            yield article.title.encode() + b"\n"

    return ExportFormat(name="titles", extension="txt", content_type="text/plain", writer=write)


def _commit_elsewhere(sql: str, params: tuple) -> None:
    """Run and commit `sql` on a connection of its own (not the test's, not the export's)."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"],
        port=settings["PORT"] or None,
        autocommit=True,
    ) as other:
        other.execute(sql, params)


def test_the_second_reader_reads_in_the_exports_snapshot(team, small_batches, monkeypatch):
    """A change committed after the export began, before the second connection opens, is in
    none of the export's lines, the second reader's included."""
    for n in range(5):
        Article.objects.create(corpus=team.corpus, title=f"Before {n}", text=f"Text {n}.")
    begin = export_reader._in_snapshot

    def after_a_change(side, snapshot):
        _commit_elsewhere(
            "UPDATE articles_article SET title = 'After' WHERE corpus_id = %s", (team.corpus.pk,)
        )
        return begin(side, snapshot)

    monkeypatch.setattr(export_reader, "_in_snapshot", after_a_change)
    spec = exports.ExportSpec(
        corpus=team.corpus, format=_titles_format(), filters=exports.ExportFilters()
    )
    titles = list(exports.stream(spec))
    assert titles == [b"Chips and policy\n"] + [f"Before {n}\n".encode() for n in range(5)]
    changed = set(Article.objects.filter(corpus=team.corpus).values_list("title", flat=True))
    assert changed == (
        {"After"} if TWO_READERS else {"Chips and policy"} | {f"Before {n}" for n in range(5)}
    )


def test_an_error_in_the_second_reader_is_raised_and_both_readers_stop(
    team, small_batches, second_connections, monkeypatch, reader_only
):
    for n in range(4):
        Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
    read = export_reader._read_batch

    def failing_in_the_second(filters, names, run, article_ids, parts):
        if threading.current_thread().name == "export-reader-2" or not TWO_READERS:
            raise RuntimeError("the second reader failed")
        return read(filters, names, run, article_ids, parts)

    monkeypatch.setattr(export_reader, "_read_batch", failing_in_the_second)
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
    with pytest.raises(RuntimeError, match="the second reader failed"):
        b"".join(exports.stream(spec))
    assert not _readers_alive()
    assert len(second_connections) == (1 if TWO_READERS else 0)
    # Its transaction ended: the next export may use it.
    assert all(_kept_idle(opened) for opened in second_connections)


def test_an_abandoned_export_stops_both_readers_and_ends_the_second_connections_transaction(
    team, small_batches, second_connections
):
    for n in range(6):
        Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
    spec = exports.ExportSpec(
        corpus=team.corpus, format=_titles_format(), filters=exports.ExportFilters()
    )
    lines = exports.stream(spec)
    assert next(lines) == b"Chips and policy\n"
    assert next(lines) == b"Article 0\n"
    lines.close()
    assert not _readers_alive()
    assert len(second_connections) == (1 if TWO_READERS else 0)
    assert all(_kept_idle(opened) for opened in second_connections)
    # The connection is usable again: nothing else holds it.
    assert Article.objects.filter(corpus=team.corpus).count() == 7


def test_without_a_second_connection_the_first_reader_reads_every_batch(
    team, small_batches, monkeypatch
):
    _golden_corpus(team)
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})

    def refused():
        raise psycopg.OperationalError("too many clients already")

    wrapper = connections["default"]
    side_connection(wrapper).close()  # none kept from an earlier test: one must be opened
    monkeypatch.setattr(wrapper, "connect_beside", refused, raising=False)
    alone = _all_bytes(spec)
    monkeypatch.setattr(
        export_reader, "SNAPSHOT_SHAREABLE", export_reader.ContextVar("off", default=False)
    )
    assert alone == _all_bytes(spec)
    assert alone.count(b"\n") == 5
    assert not _readers_alive()


@pytest.mark.parametrize("failing_batch", [0, 2, 4])
def test_an_error_in_the_first_reader_is_raised_not_a_shorter_export(
    team, small_batches, second_connections, monkeypatch, failing_batch, reader_only
):
    """Whichever reader's batch the writer is waiting for when the first reader fails."""
    for n in range(5):
        Article.objects.create(corpus=team.corpus, title=f"Article {n}", text=f"Text {n}.")
    read = export_reader._read_batch
    calls = []

    def failing(filters, names, run, article_ids, parts):
        # SQLite reads in the consumer's thread (one reader, no thread of its own).
        if not TWO_READERS or threading.current_thread().name == "export-reader":
            calls.append(article_ids)
            if len(calls) > failing_batch // 2 or not TWO_READERS and len(calls) > failing_batch:
                raise RuntimeError("the first reader failed")
        return read(filters, names, run, article_ids, parts)

    monkeypatch.setattr(export_reader, "_read_batch", failing)
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
    with pytest.raises(RuntimeError, match="the first reader failed"):
        b"".join(exports.stream(spec))
    assert not _readers_alive()
    assert all(_kept_idle(opened) for opened in second_connections)


def test_the_queries_of_an_export_with_two_readers_do_not_grow_with_the_corpus(team):
    """Counted on the export's connection, where the second reader logs its queries too."""
    from django.test.utils import CaptureQueriesContext

    from articles.models import Corpus, Membership, Topic
    from tests.factories import UserFactory
    from tests.test_exports import _grow

    annotators = [UserFactory(username=f"q{i}") for i in range(3)]
    counts = []
    for slug, articles, claims in [("small", 1, 1), ("large", 60, 2)]:
        corpus = Corpus.objects.create(slug=slug, name=slug, created_by=team.owner)
        Membership.objects.create(corpus=corpus, user=team.owner, role="owner")
        topic = Topic.objects.create(corpus=corpus, label="T")
        _grow(corpus, annotators, topic, articles=articles, claims=claims)
        spec = exports.parse_export_params(corpus, {"format": ["jsonl"]})
        with CaptureQueriesContext(connection) as captured:
            body = b"".join(exports.stream(spec))
        assert body.count(b"\n") == articles
        counts.append(len(captured))
    # The export's transaction (BEGIN, COMMIT; on PostgreSQL its isolation level), the query
    # that finds the articles (all of them: fewer than `PLANNED_AT_ONCE`), then eight per batch;
    # the small corpus is one batch, the large one two (the first batch holds 50 articles). On
    # PostgreSQL a second batch also exports the snapshot for the second reader.
    per_export = 3 if TWO_READERS else 2
    assert counts == [per_export + 1 + 8, per_export + 1 + 16 + TWO_READERS]


# The second connection kept from one export to the next is PostgreSQL's.
if TWO_READERS:

    def _backend_of(raw) -> int:
        return raw.info.backend_pid

    def test_the_second_connection_is_kept_between_exports_and_closed_with_the_first(
        team, small_batches, second_connections
    ):
        _golden_corpus(team)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        first = _all_bytes(spec)
        second = _all_bytes(spec)
        assert first == second and first.count(b"\n") == 5
        kept = second_connections[0]
        # The same connection (the same server process) for both exports, idle between them.
        assert second_connections == [kept, kept]
        assert _kept_idle(kept)
        connection.close()
        assert kept.closed
        # Reconnected: a new second connection too.
        assert _all_bytes(spec) == first
        assert second_connections[2] is not kept and _kept_idle(second_connections[2])

    def test_a_second_connection_the_server_ended_is_replaced(
        team, small_batches, second_connections
    ):
        _golden_corpus(team)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        before = _all_bytes(spec)
        kept = second_connections[0]
        ended = _backend_of(kept)
        _commit_elsewhere("SELECT pg_terminate_backend(%s)", (ended,))
        assert _all_bytes(spec) == before
        replaced = second_connections[1]
        assert replaced is not kept and _kept_idle(replaced) and kept.closed
        assert _backend_of(replaced) != ended

    def test_a_second_connection_that_fails_to_begin_is_replaced_once(
        team, small_batches, second_connections, monkeypatch
    ):
        """Ended by the server after it was checked: its BEGIN fails, and a new one reads."""
        from articles import side as side_module

        _golden_corpus(team)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        before = _all_bytes(spec)
        kept = second_connections[0]
        _commit_elsewhere("SELECT pg_terminate_backend(%s)", (_backend_of(kept),))
        monkeypatch.setattr(side_module, "quiet", lambda raw, states: not raw.closed)  # looks fine
        assert _all_bytes(spec) == before
        assert kept.closed
        assert second_connections[1] is not kept and _kept_idle(second_connections[1])
