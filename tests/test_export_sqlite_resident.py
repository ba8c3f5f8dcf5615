"""The SQLite export's resident second process (`exports.sqlite_resident`): forked when a server
worker starts, it writes every other batch of an export in the same database as the export's own
read transaction, which the export makes sure of by holding the write lock while both begin.

It is forked only by a process with no connection to the database open, so these tests copy the
suite's database (committed: transactional tests) into a file and run
`tests/sqlite_resident_probe.py` on it in a process of its own, which imports the WSGI entry
point as a gunicorn worker does."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from django.db import connection

from articles import exports
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory
from tests.test_exports import _golden_corpus

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
_SEEN: dict[str, dict] = {}


def _probe(request, tmp_path: Path, mode: str) -> dict:
    """What the probe saw, in `mode`, on a copy of the golden corpus (run once per mode)."""
    if mode in _SEEN:
        return _SEEN[mode]
    team = request.getfixturevalue("team")
    _golden_corpus(team)
    for n in range(6):  # more batches of one article
        claim = ClaimFactory(article=ArticleFactory(corpus=team.corpus), start=0, end=4)
        AnnotationFactory(claim=claim, annotator=team.annotator, note=f"Batch {n}")
    database = tmp_path / "copy.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(database)])
    # In WAL mode, as the app's databases are from their first connection (a copy is not: the
    # worker and its resident would race to switch it).
    with closing(sqlite3.connect(database)) as copy:
        assert copy.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SECRET_KEY": "test-only-" + "x" * 40,
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_EXPORT_PROCESSES": "2",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ran = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "sqlite_resident_probe.py"), team.corpus.slug, mode],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=ROOT,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    _SEEN[mode] = json.loads(ran.stdout.strip().splitlines()[-1])
    return _SEEN[mode]


if connection.vendor == "sqlite":

    @pytest.fixture
    def seen(request, tmp_path):
        return _probe(request, tmp_path, "main")

    def test_a_worker_forks_its_resident_as_it_starts(seen):
        assert isinstance(seen["resident_at_start"], int)

    def test_a_corpus_of_few_articles_is_exported_in_one_process(seen):
        """Fewer live articles than `parallel.RESIDENT_MIN_ARTICLES` (the corpus's counters,
        read before the write lock is taken): too few batches to share, even of one article."""
        assert seen["small"]["lines"] >= 10
        assert seen["small"]["by_resident"] == 0

    @pytest.mark.parametrize("fmt", ["jsonl", "csv", "w3c"])
    def test_the_resident_writes_the_bytes_one_process_writes(seen, fmt):
        """Every format, in batches of one article: the resident wrote several of them, and
        the export is byte for byte the one-process export."""
        assert seen[fmt]["same"]
        assert seen[fmt]["bytes"] > 5_000
        assert seen[fmt]["by_resident"] >= 5

    def test_a_writer_waiting_on_the_lock_is_in_neither_process_s_snapshot(seen):
        """A writer that asks for the lock between the export's taking it and both processes'
        first reads waits, then commits; neither process saw its change (a batch planned
        differently by the two would have been raised), and the next export sees it."""
        waits = seen["writer_waits"]
        assert waits["waiting"] and waits["committed"]
        assert waits["waited"] >= 0.25
        assert waits["by_resident"] >= 5
        assert waits["same"]
        assert waits["title_now"] == "Written meanwhile"
        assert waits["after_has_it"] and waits["after_same"]

    def test_a_writer_holding_the_lock_leaves_the_export_to_one_process(seen):
        holds = seen["writer_holds"]
        assert holds["same"] and holds["by_resident"] == 0
        assert holds["resident"] == seen["resident_at_start"]  # kept
        assert holds["then_same"] and holds["then_by_resident"] >= 5

    def test_the_query_log_holds_both_processes_queries(seen):
        """The export's log (what query-count tests read) holds both processes' queries: each
        batch's (one article each here), once per batch, whichever process read it; the plan
        twice (each process plans the same batches); and the export's first read, taken while
        writers are held."""
        two, one = (
            Counter(q[:80] for q in seen["queries"]["two"]),
            Counter(q[:80] for q in seen["queries"]["one"]),
        )
        (plan,) = [
            q for q in one if q.startswith('SELECT "articles_article"."id" AS "id", length(')
        ]
        per_batch = set(one) - {plan, "BEGIN", "COMMIT"}
        assert len(per_batch) == 8  # articles, claims, annotations, evidence, reviews,
        # comments, relations, and the names not seen before
        articles = seen["jsonl"]["lines"]
        assert articles >= 10
        assert {q: two[q] for q in per_batch} == dict.fromkeys(per_batch, articles)
        assert two[plan] == 2 and two["SELECT 1 FROM sqlite_schema LIMIT 1"] == 1
        assert two["BEGIN"] == two["COMMIT"] == 1
        assert sum(two.values()) == 8 * articles + 5

    def test_a_resident_whose_database_file_was_replaced_ends(seen):
        """Every title was changed in the copy that replaced the file. The resident, which had
        the old file open, ended instead of writing from it; the export, in one process, has
        every new title."""
        replaced = seen["replaced"]
        assert replaced["before_by_resident"] >= 5
        assert replaced["by_resident"] == 0 and replaced["resident"] is None
        assert replaced["same"]
        assert replaced["restored_titles"] >= replaced["lines"] >= 10

    def test_a_killed_resident_leaves_exports_to_one_process(seen):
        killed = seen["killed"]
        assert killed["same"] and killed["again_same"]
        assert killed["by_resident"] == 0
        assert killed["resident"] is None  # dropped; no export forks another

    def test_no_resident_is_forked_while_a_connection_is_open(seen):
        assert seen["forked_with_connection_open"] is None
        assert seen["forked_with_none_open"]

    def test_a_failing_resident_fails_the_export_then_exports_run_in_one_process(request, tmp_path):
        failing = _probe(request, tmp_path, "failing")
        assert "the probe's resident fails" in failing["failed"]
        assert failing["resident_after_failure"] is None
        assert failing["after_failure_same"] and failing["after_failure_batches"] == 0

    def test_a_test_process_forks_no_resident_and_exports_use_none_of_another_file(
        team, monkeypatch, tmp_path
    ):
        """The suite imports the WSGI entry point (tests/security/test_fuzz.py) while its
        settings name a file that may exist: no resident is forked (a test process, and here a
        connection open too). A resident started for
        another file than the export's database is not used: the export is the one-process one
        (the reader's own functions, which tests patch)."""
        from articles.exports import sqlite_resident
        from articles.exports.reader import SNAPSHOT_SHAREABLE

        other = tmp_path / "other.sqlite3"
        sqlite3.connect(other).close()
        monkeypatch.setitem(connection.settings_dict, "NAME", str(other))
        assert sqlite_resident.database_file(connection) == str(other)
        monkeypatch.setattr(sqlite_resident.SqliteResident, "_current", None)
        sqlite_resident.SqliteResident.start_at_worker_start()
        assert sqlite_resident.resident_pid() is None
        monkeypatch.undo()

        elsewhere = sqlite_resident.SqliteResident(os.getpid(), -1, -1)
        monkeypatch.setattr(sqlite_resident.SqliteResident, "_current", elsewhere)
        token = SNAPSHOT_SHAREABLE.set(True)
        try:
            elsewhere.path = str(other)
            assert not sqlite_resident.applies("default")
            elsewhere.path = None  # and the suite's database, in memory, has no file either
            assert not sqlite_resident.applies("default")
        finally:
            SNAPSHOT_SHAREABLE.reset(token)
        spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
        assert b"".join(exports.stream(spec)).count(b"\n") == 1
        assert not elsewhere.busy
