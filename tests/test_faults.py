"""Faults: an import killed with SIGKILL while it writes leaves the corpus as it was, and running
it again completes. (The large versions, and PostgreSQL restarted under load, are scripts in
bench/: fault_import_kill.py and fault_db_restart.py.)"""

import io
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection

from articles import counters
from articles.models import Annotation, Article, AuditEvent, Claim, Evidence

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = 10
TEXT = (
    "Export controls slow the labs down. Critics say the labs adapt quickly. Both sides cite data."
)

# Runs `manage.py import_corpus` in a child process, with the JSONL importer writing two lines per
# chunk; after the second chunk is written (inside the import's transaction) the child prints how
# many articles it sees and kills itself with SIGKILL: no exception handler, no rollback, no exit.
KILLED_IMPORT = """
import os, signal, sys
import django
django.setup()
from django.core.management import call_command
from articles import imports
from articles.imports import jsonl
from articles.models import Article

jsonl.LINES_PER_CHUNK = 2
write = imports.Writer.write
chunks = []

def write_then_die(self, plans):
    write(self, plans)
    chunks.append(len(plans))
    if len(chunks) == 2:
        seen = Article.objects.filter(corpus__slug=sys.argv[1]).count()
        print(f"written {seen}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

imports.Writer.write = write_then_die
call_command("import_corpus", sys.argv[1], sys.argv[2])
print("finished", flush=True)
"""


def _database_url() -> str:
    """The test database, as a DATABASE_URL the child process can use."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "localhost"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{settings['NAME']}"


def _jsonl(path: Path) -> Path:
    claim = {
        "start": 0,
        "end": 34,
        "annotations": [
            {
                "annotator": "anna",
                "stance": "oppose",
                "evidence": [{"kind": "span", "start": 36, "end": 71, "evidence_type": "expert"}],
            },
            {"annotator": "arjun", "stance": "support"},
        ],
    }
    with path.open("w") as out:
        for index in range(ARTICLES):
            line = {"title": f"Killed import {index}", "text": TEXT, "claims": [claim]}
            out.write(json.dumps(line) + "\n")
    return path


def _counts(corpus) -> dict[str, int]:
    return {
        "articles": Article.objects.filter(corpus=corpus).count(),
        "claims": Claim.objects.filter(article__corpus=corpus).count(),
        "annotations": Annotation.objects.filter(claim__article__corpus=corpus).count(),
        "evidence": Evidence.objects.filter(annotation__claim__article__corpus=corpus).count(),
        "imports": AuditEvent.objects.filter(corpus=corpus, verb="corpus.import").count(),
    }


def _counting_triggers() -> list:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE '%%_counts' ORDER BY 1")
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY 1")
        return cursor.fetchall()


def test_import_killed_while_writing_leaves_nothing_and_a_rerun_completes(team, tmp_path):
    path = _jsonl(tmp_path / "import.jsonl")
    before = _counts(team.corpus)
    triggers = _counting_triggers()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "DATABASE_URL": _database_url(),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    }
    env.pop("DJANGO_DEBUG", None)
    child = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, team.corpus.slug, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert child.returncode == -signal.SIGKILL, child.stderr
    # The child had written four articles (two chunks) into its open transaction when it died...
    assert child.stdout.split() == ["written", str(before["articles"] + 4)], child.stderr
    # ...and none of them, nor anything else of the import, is in the database; the counting
    # triggers the import had set aside (counters.deferred) are back.
    assert _counts(team.corpus) == before
    assert _counting_triggers() == triggers

    call_command("import_corpus", team.corpus.slug, str(path), stdout=io.StringIO())
    assert counters.recount(repair=False) == []
    assert _counts(team.corpus) == {
        "articles": before["articles"] + ARTICLES,
        "claims": before["claims"] + ARTICLES,
        "annotations": before["annotations"] + 2 * ARTICLES,
        "evidence": before["evidence"] + ARTICLES,
        "imports": 1,
    }
