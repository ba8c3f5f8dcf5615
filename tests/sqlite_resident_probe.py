"""Run by tests/test_export_sqlite_resident.py in a process of its own, on a SQLite file that
this process has never opened: it imports the WSGI entry point as a server worker does (which
forks the SQLite export's resident second process), exports the corpus named on the command
line in the ways the test asks, and prints what it saw as JSON on its last line.

    python tests/sqlite_resident_probe.py <corpus slug> <mode>

Modes: `main` (the formats, a writer waiting on the lock, a writer holding it, the query log, a
killed resident, no fork with a connection open) and `failing` (the resident's batches raise).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from contextlib import closing, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

slug, mode = sys.argv[1], sys.argv[2]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
import django  # noqa: E402

django.setup()  # (opens no connection)

from articles.exports import sqlite_resident  # noqa: E402

if mode == "failing":
    # Before the fork: the resident's batches raise after its first.
    _batches = sqlite_resident._batches

    def _failing(job, wrapper):
        for number, (batch, article_ids, pieces) in enumerate(_batches(job, wrapper)):
            if number:
                raise RuntimeError("the probe's resident fails")
            yield batch, article_ids, pieces

    sqlite_resident._batches = _failing

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import annotator.wsgi  # noqa: E402, F401  (a worker's start: forks the resident)
from articles import exports  # noqa: E402
from articles.exports import parallel, reader  # noqa: E402
from articles.models import Corpus  # noqa: E402

seen: dict = {"resident_at_start": sqlite_resident.resident_pid()}
resident = sqlite_resident.SqliteResident._current
path = sqlite_resident.database_file(connection)
corpus = Corpus.objects.get(slug=slug)
connection.close()

batches_by_resident = 0
_batch = parallel._Child.batch


def _counted(self, number, first_id):
    global batches_by_resident
    batches_by_resident += 1
    yield from _batch(self, number, first_id)


parallel._Child.batch = _counted


def export(fmt: str = "jsonl") -> bytes:
    global batches_by_resident
    batches_by_resident = 0
    spec = exports.parse_export_params(corpus, {"format": [fmt]})
    return b"".join(exports.stream(spec))


@contextmanager
def one_process():
    kept = sqlite_resident.SqliteResident._current
    sqlite_resident.SqliteResident._current = None
    try:
        yield
    finally:
        sqlite_resident.SqliteResident._current = kept


# Batches of one article from here. A corpus of fewer than RESIDENT_MIN_ARTICLES articles is
# exported in one process (too few batches to share); then any corpus shares its batches.
reader.ARTICLES_PER_BATCH = 1
seen["small"] = {"lines": export().count(b"\n"), "by_resident": batches_by_resident}
parallel.RESIDENT_MIN_ARTICLES = 1


def title_of_first() -> str:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT title FROM articles_article ORDER BY id LIMIT 1").fetchone()[0]


if mode == "failing":
    with one_process():
        reference = export()
    try:
        export()
        seen["failed"] = None
    except parallel.ExportProcessError as error:
        seen["failed"] = str(error)
    seen["resident_after_failure"] = sqlite_resident.resident_pid()
    seen["after_failure_same"] = export() == reference
    seen["after_failure_batches"] = batches_by_resident
    print(json.dumps(seen))
    sys.exit(0)

# The three formats, with and without the resident.
for fmt in ("jsonl", "csv", "w3c"):
    two = export(fmt)
    by_resident = batches_by_resident
    with one_process():
        one = export(fmt)
    seen[fmt] = {
        "same": one == two,
        "bytes": len(two),
        "lines": two.count(b"\n"),
        "by_resident": by_resident,
    }
reference = export()

# The query log holds both processes' queries: the same batches' queries as in one process,
# plus each process's plan and the export's own first read.
with CaptureQueriesContext(connection) as two_queries:
    export()
with one_process(), CaptureQueriesContext(connection) as one_queries:
    export()
seen["queries"] = {
    "two": [q["sql"] for q in two_queries.captured_queries],
    "one": [q["sql"] for q in one_queries.captured_queries],
}

# A writer that asks for the lock while the export holds it: it waits, then commits after both
# processes began reading, and neither export process sees its change.
writer_done: dict = {}
_held = sqlite_resident._writers_held


def _held_then_writer_waits(at: str, corpus_id: int):
    lock = _held(at, corpus_id)

    def write() -> None:
        db = sqlite3.connect(path, timeout=20, isolation_level=None)
        started = time.monotonic()
        db.execute("BEGIN IMMEDIATE")
        writer_done["waited"] = time.monotonic() - started
        db.execute(
            "UPDATE articles_article SET title = 'Written meanwhile'"
            " WHERE id = (SELECT min(id) FROM articles_article)"
        )
        db.execute("COMMIT")
        db.close()
        writer_done["committed"] = True

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.3)  # it asks for the lock, and waits on its busy timeout
    writer_done["waiting"] = thread.is_alive()
    writer_done["thread"] = thread
    return lock


sqlite_resident._writers_held = _held_then_writer_waits
during = export()
sqlite_resident._writers_held = _held
writer_done.pop("thread").join()
seen["writer_waits"] = {
    "same": during == reference,
    "by_resident": batches_by_resident,
    "waiting": writer_done["waiting"],
    "waited": writer_done["waited"],
    "committed": writer_done.get("committed", False),
    "title_now": title_of_first(),
}
after = export()
with one_process():
    seen["writer_waits"]["after_same"] = after == export()
seen["writer_waits"]["after_has_it"] = b"Written meanwhile" in after
reference = after

# A writer that holds the lock: the export runs in one process, and the resident is kept.
holder = sqlite3.connect(path, isolation_level=None)
holder.execute("BEGIN IMMEDIATE")
held = export()
seen["writer_holds"] = {
    "same": held == reference,
    "by_resident": batches_by_resident,
    "resident": sqlite_resident.resident_pid(),
}
holder.execute("ROLLBACK")
holder.close()
again = export()
seen["writer_holds"]["then_by_resident"] = batches_by_resident
seen["writer_holds"]["then_same"] = again == reference

# The resident killed: the next export runs in one process, and no other resident is forked.
assert resident is not None
os.kill(resident.pid, signal.SIGKILL)
time.sleep(0.2)
killed = export()
seen["killed"] = {
    "same": killed == reference,
    "by_resident": batches_by_resident,
    "resident": sqlite_resident.resident_pid(),
}
killed = export()
seen["killed"]["again_same"] = killed == reference

# No fork while a connection to the database is open.
connection.ensure_connection()
sqlite_resident.SqliteResident._current = None
sqlite_resident.SqliteResident.start_at_worker_start()
seen["forked_with_connection_open"] = sqlite_resident.resident_pid()
connection.close()
sqlite_resident.SqliteResident.start_at_worker_start()
seen["forked_with_none_open"] = sqlite_resident.resident_pid() is not None

# The database file replaced in place under the running process (its WAL emptied first, so that
# this process's new connections read the new file only): the resident, which has the old file
# open, ends rather than write batches from it, and exports run in one process on the new file.
seen["replaced"] = {"before_by_resident": (export(), batches_by_resident)[1]}
connection.close()
with closing(sqlite3.connect(path)) as db:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM INTO ?", [path + ".new"])
with closing(sqlite3.connect(path + ".new")) as db:
    db.execute("UPDATE articles_article SET title = title || ' (restored)'")
    db.commit()
    db.execute("PRAGMA journal_mode=WAL")
os.replace(path + ".new", path)
restored = export()
seen["replaced"].update(
    {
        "by_resident": batches_by_resident,
        "resident": sqlite_resident.resident_pid(),
        "restored_titles": restored.count(b" (restored)"),
        "lines": restored.count(b"\n"),
    }
)
with one_process():
    seen["replaced"]["same"] = restored == export()
if (later := sqlite_resident.SqliteResident._current) is not None:
    later.stop()
print(json.dumps(seen))
