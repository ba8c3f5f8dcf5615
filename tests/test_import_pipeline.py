"""The import plans one chunk ahead in a thread while the calling thread writes (imports/ahead.py),
and on PostgreSQL checks the foreign keys of the rows it COPYs once per chunk instead of once per
row (imports/rows.ForeignKeys; SQLite checks each row itself). Both databases (CI runs both)."""

from __future__ import annotations

import json
import sqlite3
import threading

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from articles import counters, imports, side
from articles.imports import ahead, rows
from articles.imports import jsonl as jsonl_import
from articles.models import (
    Annotation,
    Article,
    Assignment,
    Claim,
    Comment,
    Evidence,
    Relation,
    Review,
    Role,
)

pytestmark = pytest.mark.django_db

TEXT = "Chips are scarce. Labs adapt \U0001f680 quickly. Rules fail."
# The models the writer COPYs (imports.Writer.write through rows.insert_rows).
COPIED = (Article, Claim, Annotation, Evidence, Review, Comment, Relation, Assignment)


def _line(title: str, annotator: str = "anna") -> str:
    start = TEXT.index("Labs adapt")
    claims = [
        {
            "start": start,
            "end": start + len("Labs adapt"),
            "annotations": [{"annotator": annotator, "stance": "support", "status": "submitted"}],
        },
        {"exact": "Rules fail", "annotations": [{"annotator": "arjun", "stance": "oppose"}]},
    ]
    return json.dumps({"title": title, "text": TEXT, "claims": claims})


def _import(team, *lines: str):
    return imports.import_file(
        actor=team.owner,
        corpus=team.corpus,
        role=Role.OWNER,
        name="x.jsonl",
        data="\n".join(lines).encode(),
    )


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


def test_chunks_are_planned_in_another_thread_and_written_in_the_callers_transaction(
    team, monkeypatch
):
    monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 2)
    planned_on = []
    plan_chunk = jsonl_import._plan_chunk

    def recorded(*args, **kwargs):
        planned_on.append(threading.current_thread().name)
        return plan_chunk(*args, **kwargs)

    monkeypatch.setattr(jsonl_import, "_plan_chunk", recorded)
    with transaction.atomic():
        result = _import(team, *[_line(f"A{i}") for i in range(5)])
        # Visible in this transaction: written on this thread's connection.
        assert Article.objects.filter(pk__in=result.article_ids).count() == 5
    assert planned_on == ["import-planner"] * 3
    assert [a.title for a in Article.objects.filter(pk__in=result.article_ids).order_by("id")] == [
        f"A{i}" for i in range(5)
    ]
    assert result.claims == 10 and result.annotations == 10
    assert counters.recount(repair=False) == []
    assert ahead.sys.getswitchinterval() == pytest.approx(0.005)  # restored


def test_a_crash_in_the_planner_after_chunks_were_written_leaves_nothing(team, monkeypatch):
    monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 1)
    plan_chunk = jsonl_import._plan_chunk
    calls = []

    def crashing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the planner crashed")
        return plan_chunk(*args, **kwargs)

    monkeypatch.setattr(jsonl_import, "_plan_chunk", crashing)
    written = []
    write = imports.Writer.write

    def counted(self, plans):
        write(self, plans)
        written.append(len(plans))

    monkeypatch.setattr(imports.Writer, "write", counted)
    before = (Article.objects.count(), Claim.objects.count(), Annotation.objects.count())
    with pytest.raises(RuntimeError, match="the planner crashed"):
        _import(team, *[_line(f"B{i}") for i in range(5)])
    assert written == [1, 1]  # two chunks were written before the crash reached the writer
    assert (Article.objects.count(), Claim.objects.count(), Annotation.objects.count()) == before
    assert counters.recount(repair=False) == []
    if connection.vendor == "postgresql":
        assert _setting("session_replication_role") == "origin"
    # The connection serves the next import as ever.
    monkeypatch.setattr(jsonl_import, "_plan_chunk", plan_chunk)
    assert _import(team, _line("After")).articles == 1


def test_a_bad_line_in_a_later_chunk_leaves_nothing_and_names_its_line(team, monkeypatch):
    monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 2)
    lines = [_line(f"C{i}") for i in range(6)]
    lines[4] = _line("C4", annotator="victor")  # a viewer may not annotate
    before = Article.objects.count()
    with pytest.raises(imports.ImportFailed) as failure:
        _import(team, *lines)
    assert [line for line, _ in failure.value.errors] == [5]
    assert "claims[0].annotations[0].annotator" in failure.value.errors[0][1]
    assert Article.objects.count() == before
    assert counters.recount(repair=False) == []


def test_an_error_while_writing_stops_the_planner_and_leaves_nothing(team, monkeypatch):
    monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 1)
    write = imports.Writer.write
    calls = []

    def failing(self, plans):
        calls.append(1)
        if len(calls) == 2:
            raise IntegrityError("refused by the database")
        write(self, plans)

    monkeypatch.setattr(imports.Writer, "write", failing)
    before = Article.objects.count()
    with pytest.raises(imports.ImportFailed) as failure:
        _import(team, *[_line(f"D{i}") for i in range(6)])
    assert failure.value.status == 409
    assert Article.objects.count() == before
    assert not any(t.name == "import-planner" for t in threading.enumerate())


# --- The foreign keys of COPYed rows: checked per chunk on PostgreSQL, per row on SQLite --------


def _foreign_keys_in_the_database(table: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT a.attname, c.confrelid::regclass::text FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
                "WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
                [table],
            )
            return set(cursor.fetchall())
        cursor.execute(f"PRAGMA foreign_key_list({connection.ops.quote_name(table)})")
        return {(row[3], row[2]) for row in cursor.fetchall()}


def test_every_foreign_key_of_the_copied_tables_is_one_the_batch_check_knows():
    """What the database checks per row, ForeignKeys checks per chunk: the same columns, each
    pointing at its table's primary key (a new foreign key cannot be left out)."""
    for model in COPIED:
        keys = rows._keys(model)
        assert keys is not None, model
        known = {(f.column, f.related_model._meta.db_table) for f in keys}
        assert known == _foreign_keys_in_the_database(model._meta.db_table), model


def test_the_import_pauses_the_per_row_checks_and_resumes_them(team, monkeypatch):
    seen = []
    check = rows.ForeignKeys.check

    def watched(self):
        seen.append((self.enabled, self.paused, _setting("session_replication_role")))
        check(self)

    monkeypatch.setattr(rows.ForeignKeys, "check", watched)
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic():
        _import(team, _line("E"))
        # SQLite checks each row itself, cheaply: no batch check there.
        assert seen == ([(True, True, "replica")] if postgresql else [])
        if postgresql:
            assert _setting("session_replication_role") == "origin"
        # Django's foreign keys are deferred again for what the caller writes next.
        Claim.objects.create(
            article_id=team.article.pk, start=0, end=5, exact="Chips", created_by_id=10**9
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            connection.check_constraints()
        transaction.set_rollback(True)


def _claim_pointing_nowhere(team, foreign_keys) -> None:
    rows.insert_rows(
        Claim,
        ("article_id", "start", "end", "exact", "created_by_id"),
        [(team.article.pk, 0, 5, team.article.text[:5], 10**9)],
        foreign_keys=foreign_keys,
    )


def test_a_row_pointing_nowhere_is_refused(team):
    foreign_keys = rows.ForeignKeys()
    assert foreign_keys.enabled == (connection.vendor == "postgresql")
    with transaction.atomic():
        _claim_pointing_nowhere(team, foreign_keys)
        if connection.vendor == "postgresql":
            with pytest.raises(IntegrityError, match="auth_user: no row with id 1000000000"):
                foreign_keys.check()
        else:
            with pytest.raises(IntegrityError):
                connection.check_constraints()
        transaction.set_rollback(True)


def test_rows_pointing_at_rows_of_the_same_import_need_no_query(team):
    """A claim's article written by the same import is checked against the ids written."""
    foreign_keys = rows.ForeignKeys()
    with transaction.atomic():
        [article_id] = rows.insert_rows(
            Article,
            ("corpus_id", "title", "text"),
            [(team.corpus.pk, "New", TEXT)],
            foreign_keys=foreign_keys,
        )
        rows.insert_rows(
            Claim,
            ("article_id", "start", "end", "exact", "created_by_id"),
            [(article_id, 0, 5, TEXT[:5], team.owner.pk)],
            foreign_keys=foreign_keys,
        )
        if connection.vendor == "postgresql":
            assert foreign_keys.wanted[Article] == {article_id}
            assert foreign_keys.written[Article] == {article_id}
            looked_up = [p for p, v in foreign_keys.wanted.items() if v - foreign_keys.written[p]]
            assert sorted(m._meta.db_table for m in looked_up) == [
                "articles_corpus",
                "auth_user",
            ]
        foreign_keys.check()
        connection.check_constraints()
        transaction.set_rollback(True)


def test_where_the_role_may_not_pause_triggers_the_database_checks_each_row(team, monkeypatch):
    monkeypatch.setattr(rows, "_may_pause_triggers", lambda: False)
    result = _import(team, _line("F"))
    assert result.articles == 1 and counters.recount(repair=False) == []
    foreign_keys = rows.ForeignKeys()
    assert not foreign_keys.enabled
    with pytest.raises(IntegrityError), transaction.atomic():
        _claim_pointing_nowhere(team, foreign_keys)
        connection.check_constraints()


@pytest.mark.django_db(transaction=True)
def test_the_rows_an_import_points_at_stay_locked_until_it_commits(team):
    """As PostgreSQL's own checks do, the batch check locks the user and the topic the new rows
    point at (FOR KEY SHARE): another transaction cannot delete them until the import ends.
    (SQLite: the import's transaction holds the database's one write lock.)"""
    database = connection.settings_dict
    with transaction.atomic():
        _import(team, _line("G"))
        if connection.vendor == "sqlite":
            other = sqlite3.connect(database["NAME"], timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
            return
        url = (
            f"host={database['HOST'] or '127.0.0.1'} port={database['PORT'] or 5432} "
            f"dbname={database['NAME']} user={database['USER']}"
        )
        with psycopg.connect(url, autocommit=True) as other:
            for table, pk in (("auth_user", team.annotator.pk), ("articles_topic", team.topic.pk)):
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    other.execute(
                        f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE NOWAIT",  # noqa: S608
                        [pk],
                    )


def test_the_api_answers_a_streamed_import_as_before(team, monkeypatch):
    monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 1)
    client = Client()
    client.force_login(team.owner)
    response = client.post(
        "/api/v1/corpora/chips/import",
        data="\n".join(_line(f"H{i}") for i in range(3)).encode(),
        content_type="application/x-ndjson",
    )
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert body["articles"] == 3 and body["claims"] == 6 and len(body["claim_ids"]) == 6
    claims = Claim.objects.filter(article_id__in=body["article_ids"]).order_by(
        "article_id", "start"
    )
    assert body["claim_ids"] == [str(c.pk) for c in claims]


@pytest.mark.parametrize("spooled", ["in memory", "to a file"])
def test_the_api_imports_a_body_kept_in_memory_or_spooled_to_a_file(team, monkeypatch, spooled):
    from articles.api import transfer

    body = "\n".join(_line(f"S{i}") for i in range(3)).encode()
    assert len(body) < transfer.SPOOL_BYTES
    if spooled == "to a file":
        monkeypatch.setattr(transfer, "SPOOL_BYTES", len(body) // 2)
    rolled = []
    real = transfer.tempfile.SpooledTemporaryFile

    class Watched(real):  # type: ignore[misc, valid-type]
        def rollover(self):
            rolled.append(True)
            super().rollover()

    monkeypatch.setattr(transfer.tempfile, "SpooledTemporaryFile", Watched)
    client = Client()
    client.force_login(team.owner)
    response = client.post(
        "/api/v1/corpora/chips/import", data=body, content_type="application/x-ndjson"
    )
    assert response.status_code == 201, response.content[:300]
    assert response.json()["articles"] == 3 and response.json()["claims"] == 6
    assert bool(rolled) == (spooled == "to a file")


# --- PostgreSQL: chunks prepared on the planner's thread, on a second connection ----------------


def _rows_of(result) -> list[tuple]:
    """What an import wrote, without its ids and timestamps (comparable across imports)."""
    claims = Claim.objects.filter(pk__in=result.claim_ids).order_by("id")
    return [
        (
            c.article.title,
            c.start,
            c.end,
            c.exact,
            c.prefix,
            c.suffix,
            c.labels,
            c.anchor_status,
            [
                (a.annotator_id, a.topic_id, a.stance, a.labels, a.status)
                for a in c.annotations.order_by("id")
            ],
        )
        for c in claims
    ]


def test_a_second_connection_that_cannot_open_leaves_the_writer_to_prepare(team, monkeypatch):
    def refused(**params):
        raise psycopg.OperationalError("too many connections")

    monkeypatch.setattr(rows.psycopg, "connect", refused)
    result = _import(team, *[_line(f"Q{i}") for i in range(3)])
    assert result.articles == 3 and result.annotations == 6
    assert counters.recount(repair=False) == []


def test_a_chunk_naming_a_new_topic_is_prepared_by_the_writer(team):
    line = json.loads(_line("R"))
    line["claims"][0]["annotations"][0]["topic"] = "A topic the corpus lacks"
    result = _import(team, json.dumps(line), _line("S"))
    assert result.topics == 1 and result.annotations == 4
    assert counters.recount(repair=False) == []


# SQLite prepares each chunk on the writer's thread: these are PostgreSQL's.
if connection.vendor == "postgresql":

    def test_postgresql_prepares_chunks_on_the_planners_thread_with_ids_from_a_second_connection(
        team, monkeypatch
    ):
        monkeypatch.setattr(jsonl_import, "LINES_PER_CHUNK", 2)
        written_as = []
        write = imports.Writer.write

        def recorded(self, chunk):
            written_as.append(type(chunk).__name__)
            write(self, chunk)

        monkeypatch.setattr(imports.Writer, "write", recorded)
        drawn_on = []
        reserve = rows.reserve_ids

        def watched(wanted, **kwargs):
            drawn_on.append((threading.current_thread().name, kwargs.get("side") is not None))
            return reserve(wanted, **kwargs)

        monkeypatch.setattr(rows, "reserve_ids", watched)
        lines = [_line(f"P{i}") for i in range(5)]
        prepared = _import(team, *lines)
        assert written_as == ["PreparedChunk"] * 3
        assert drawn_on == [("import-planner", True)] * 3
        # The same file written the other way (no second connection): the same rows.
        monkeypatch.setattr(side.SideConnection, "get", lambda self: None)
        written_as.clear()
        plain = _import(team, *lines)
        assert written_as == ["list"] * 3
        assert _rows_of(prepared) == _rows_of(plain)
        assert prepared.as_dict() == plain.as_dict()
        assert counters.recount(repair=False) == []
        assert _setting("session_replication_role") == "origin"

    def test_the_second_connection_is_kept_between_imports_and_closed_with_the_first(team):
        _import(team, _line("T1"))
        side = connection.side
        raw = side.raw
        assert raw is not None and not raw.closed
        _import(team, _line("T2"))
        assert side.raw is raw  # the same one, not opened again
        raw.close()  # gone (say, the server restarted): opened again at the next import
        _import(team, _line("T3"))
        assert side.raw is not None and side.raw is not raw and not side.raw.closed
        again = side.raw
        connection.close()
        assert again.closed and side.raw is None
