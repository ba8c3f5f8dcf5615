"""SQLite: an import's commit synced to the write-ahead log, its checkpoint left to a thread.

SQLite (WAL journal, `synchronous=NORMAL`: annotator/settings.py) copies the log back into the
database file once the log passes 1,000 pages, in the commit that passes it: for an import of
the issue's 1,000 documents (some 4,000 pages) that commit wrote the pages again and synced the
log and the database file, 0.12-0.34 s of the request on a busy machine (bench/README.md, "The
import with spans"). Here an import that owns its transaction commits with `synchronous=FULL`
(the log synced at the commit: the import is on disk when it is answered, as it was with the
checkpoint, and unlike a small commit under NORMAL) and without the automatic checkpoint; the
checkpoint (PASSIVE: it waits for no reader or writer) then runs in a thread on a connection of
its own while the answer goes out. Both settings are back as they were on the import's
connection when the block ends, whether it committed or not.

Anything else (PostgreSQL, another journal mode, an import inside a caller's transaction,
which commits later with everything else) is left as it is.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


class Checkpoint(threading.Thread):
    """A PASSIVE checkpoint of the database at `path`, on a connection of its own; `result`:
    (busy, frames in the log, frames copied back), or None if it failed."""

    def __init__(self, path: str):
        super().__init__(name="import-checkpoint", daemon=True)
        self.path = path
        self.result: tuple[int, int, int] | None = None

    def run(self) -> None:
        try:
            db = sqlite3.connect(self.path, timeout=20)
            try:
                self.result = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                db.close()
        except sqlite3.Error:  # the next commit past the threshold checkpoints instead
            logger.warning("The checkpoint after an import failed.", exc_info=True)


# The last checkpoint thread started (tests wait for it).
last_checkpoint: Checkpoint | None = None


@contextmanager
def synced_commit(alias: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Around an import's own transaction (see the module's docstring); yields whether it
    applies."""
    connection = connections[alias]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = str(cursor.fetchone()[0]).lower()
        cursor.execute("PRAGMA synchronous")
        synchronous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint")
        autocheckpoint = int(cursor.fetchone()[0])
    if mode != "wal":
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA synchronous = {max(synchronous, FULL)}")
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield True
    finally:
        if connection.connection is not None:  # (closed meanwhile: a new one has the defaults)
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous = {synchronous}")
                cursor.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
    # Only reached when the block ended without an error: the import committed.
    if autocheckpoint > 0:
        _checkpoint_in_thread(str(connection.settings_dict["NAME"]))


def _checkpoint_in_thread(path: str) -> None:
    global last_checkpoint
    last_checkpoint = Checkpoint(path)
    last_checkpoint.start()
