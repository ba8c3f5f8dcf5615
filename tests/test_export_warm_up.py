"""`exports.warm_up`, which the WSGI entry point runs in each worker before its first request:
the URLconf loaded and the export's queries compiled. It needs no database, and an export after
it reads what the database holds then (nothing compiled at start carries data)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from articles import exports
from articles.exports import reader as export_reader
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory


def _jsonl(team) -> bytes:
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
    return b"".join(exports.stream(spec))


def test_an_export_after_warm_up_reads_the_database_as_it_is(team, monkeypatch):
    """Nothing served stale: the export after `warm_up` equals one whose queries are compiled
    on the way, before and after the corpus changes."""
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    claim = ClaimFactory(article=team.article, start=0, end=4)
    AnnotationFactory(claim=claim, annotator=team.annotator, note='"🙂"\n=1+1')
    exports.warm_up()
    warmed = _jsonl(team)
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    assert warmed == _jsonl(team)

    exports.warm_up()
    ArticleFactory(corpus=team.corpus, title="Later", text="Added after the warm-up.")
    claim.annotations.update(note="changed")
    after = _jsonl(team)
    assert after.count(b"\n") == warmed.count(b"\n") + 1
    assert b"Added after the warm-up." in after and b'"note":"changed"' in after
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    assert after == _jsonl(team)


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_the_wsgi_entry_point_warms_a_worker_without_touching_the_database(tmp_path, vendor):
    """Importing `annotator.wsgi`, as a gunicorn worker does: every view is imported (a first
    request imports nothing more) and the export's queries are compiled; no database connection
    or transaction is open afterwards, and no thread runs. The database is one that cannot be
    reached: a SQLite file that is never created, a PostgreSQL port where nothing listens."""
    database = tmp_path / "never.sqlite3"
    url = f"sqlite:///{database}" if vendor == "sqlite" else "postgres://nobody@127.0.0.1:9/none"
    script = textwrap.dedent(
        f"""
        import sys, threading
        import annotator.wsgi
        from django.db import connection, connections
        from articles.exports import reader
        assert connection.vendor == {vendor!r}
        assert "articles.api.transfer" in sys.modules  # the export's view, from the URLconf
        assert reader._COMPILED
        assert all(c.connection is None and not c.in_atomic_block for c in connections.all())
        assert [t.name for t in threading.enumerate()] == ["MainThread"]
        print("ok")
        """
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": "test-only-" + "x" * 40,
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ran = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "ok"
    assert not database.exists()
