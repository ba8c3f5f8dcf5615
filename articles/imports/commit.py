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


class SyncedCommit:
    """The settings of one import's connection, changed for its commit (see synced_commit)."""

    def __init__(self, connection, synchronous: int, autocheckpoint: int):
        self.connection = connection
        self.synchronous = synchronous
        self.autocheckpoint = autocheckpoint
        self.synced = True

    def committed(self) -> None:
        """Right after the commit (transaction.on_commit, before the import's other callbacks):
        the usual `synchronous` again, and the checkpoint started in a thread."""
        self._restore_synchronous()
        if self.autocheckpoint > 0:
            _checkpoint_in_thread(str(self.connection.settings_dict["NAME"]))

    def _restore_synchronous(self) -> None:
        if self.synced and self.connection.connection is not None:
            with self.connection.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous = {self.synchronous}")
        self.synced = False

    def restore(self) -> None:
        """Both settings as they were (a closed connection: a new one has them already)."""
        self._restore_synchronous()
        if self.connection.connection is not None:
            with self.connection.cursor() as cursor:
                cursor.execute(f"PRAGMA wal_autocheckpoint = {self.autocheckpoint}")


@contextmanager
def synced_commit(alias: str = DEFAULT_DB_ALIAS) -> Iterator[SyncedCommit | None]:
    """Around an import that owns its transaction (see the module's docstring). Inside the
    transaction, the import registers `committed` with transaction.on_commit first; the
    automatic checkpoint stays off until the block ends (the import's statistics refresh
    commits too), and the settings are restored however it ends. None where this does not
    apply."""
    connection = connections[alias]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield None
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = str(cursor.fetchone()[0]).lower()
        cursor.execute("PRAGMA synchronous")
        synchronous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint")
        autocheckpoint = int(cursor.fetchone()[0])
    if mode != "wal":
        yield None
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA synchronous = {max(synchronous, FULL)}")
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    changed = SyncedCommit(connection, synchronous, autocheckpoint)
    try:
        yield changed
    finally:
        changed.restore()


def _checkpoint_in_thread(path: str) -> None:
    global last_checkpoint
    last_checkpoint = Checkpoint(path)
    last_checkpoint.start()
