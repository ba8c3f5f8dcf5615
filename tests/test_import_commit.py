"""SQLite: an import that owns its transaction commits with the write-ahead log synced and
without the automatic checkpoint, which a thread then runs (articles/imports/commit.py); the
connection's settings are back afterwards, whether the import committed or failed. Inside a
caller's transaction, and on PostgreSQL, nothing changes."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from articles import imports
from articles.imports import Writer, commit
from articles.models import Article, Role

TEXT = "Chips are scarce. Labs adapt quickly. Rules fail."


def _body(*titles: str, stance: str = "support") -> bytes:
    start = TEXT.index("Labs adapt")
    claim = {
        "start": start,
        "end": start + 10,
        "annotations": [{"annotator": "anna", "stance": stance}],
    }
    return "\n".join(
        json.dumps({"title": t, "text": TEXT, "claims": [claim]}) for t in titles
    ).encode()


def _import(team, body: bytes):
    return imports.import_file(
        actor=team.owner, corpus=team.corpus, role=Role.OWNER, name="x.jsonl", data=body
    )


def _settings() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        synchronous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint")
        return synchronous, int(cursor.fetchone()[0])


@pytest.fixture
def seen_while_writing(monkeypatch):
    seen: list[tuple[int, int] | None] = []
    write = Writer.write

    def watched(self, plans):
        seen.append(_settings() if connection.vendor == "sqlite" else None)
        return write(self, plans)

    monkeypatch.setattr(Writer, "write", watched)
    return seen


@pytest.mark.django_db(transaction=True)
def test_an_import_commits_with_the_log_synced_and_checkpoints_in_a_thread(
    team, seen_while_writing, monkeypatch
):
    from articles import db_statistics

    refresh = db_statistics.refresh
    seen_while_refreshing = []

    def watched(written):
        seen_while_refreshing.append(_settings() if connection.vendor == "sqlite" else None)
        return refresh(written)

    monkeypatch.setattr(db_statistics, "refresh", watched)
    if connection.vendor != "sqlite":
        result = _import(team, _body("One"))
        assert result.articles == 1 and seen_while_writing == [None]
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    before = _settings()
    assert before == (1, 1000)  # NORMAL, the default threshold (annotator/settings.py)
    commit.last_checkpoint = None
    result = _import(team, _body("One", "Two"))
    assert result.articles == 2
    assert seen_while_writing == [(2, 0)]  # FULL, no automatic checkpoint
    # The statistics refresh (after the commit) commits as usual, but does not checkpoint.
    assert seen_while_refreshing == [(1, 0)]
    assert _settings() == before
    thread = commit.last_checkpoint
    assert thread is not None
    thread.join(timeout=30)
    busy, logged, copied = thread.result
    assert busy == 0 and logged > 0 and copied == logged
    assert Article.objects.filter(title__in=["One", "Two"]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_import_restores_the_settings_and_checkpoints_nothing(team, seen_while_writing):
    before = _settings() if connection.vendor == "sqlite" else None
    commit.last_checkpoint = None
    with pytest.raises(imports.ImportFailed):
        _import(team, _body("One", "Bad", stance="maybe"))
    assert commit.last_checkpoint is None
    if before is not None:
        assert _settings() == before
    assert not Article.objects.filter(title="One").exists()


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_commit_is_left_as_it_is(team, seen_while_writing):
    before = _settings() if connection.vendor == "sqlite" else None
    commit.last_checkpoint = None
    assert _import(team, _body("One")).articles == 1
    assert seen_while_writing == [before]
    assert commit.last_checkpoint is None
