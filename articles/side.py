"""A second connection to the caller's PostgreSQL database, kept beside Django's own.

What uses it, each while it holds the Django connection it belongs to:
- an import's planner thread draws the next chunk's ids from the sequences (no transaction
  holds them back) and formats its COPY streams with the same adapters, while the writer's COPY
  holds the import's connection (articles/imports);
- an export's second reader reads every other batch in the export's snapshot
  (articles/exports/reader.py, `_read_in_two`), in a transaction it ends before handing the
  connection back.

Opening one is a new server process: 5-10 ms, and that process's first queries load its catalog
caches. So there is one per Django connection (`side_connection`), opened on first use and kept
while that connection lasts; our backend closes it with its own (annotator/db/postgresql).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import pq

from annotator.db.postgresql.base import quiet

# A kept side connection is used only when idle, outside a transaction, with nothing from the
# server waiting to be read (checked as Django's own connection is: `quiet`).
_IDLE = frozenset({pq.TransactionStatus.IDLE})


class SideConnection:
    """The side connection of one Django connection, psycopg's, in autocommit, idle between
    uses. `get()` is None where it cannot be opened (a connection pool, the server refusing
    it): the caller then does without."""

    def __init__(self, wrapper) -> None:
        self.wrapper = wrapper
        self.raw: psycopg.Connection | None = None
        self.main: Any = None  # the wrapper's connection when this one was opened
        self.failed = False

    def begin(self) -> None:
        """Before a use: usable again unless it cannot be."""
        wrapper = self.wrapper
        self.failed = wrapper.vendor != "postgresql" or bool(getattr(wrapper, "pool", None))

    def get(self) -> psycopg.Connection | None:
        if self.failed:
            return None
        raw = self.raw
        # Opened again when closed, broken, gone on the server's side, or older than the
        # wrapper's connection (reconnected since).
        if raw is not None and (self.main is not self.wrapper.connection or not quiet(raw, _IDLE)):
            self.close()
            raw = None
        if raw is None:
            try:
                raw = self.wrapper.connect_beside()  # its role too, as Django's connection
                # bytea (an import's jsonb bytes) by psycopg's C dumper: the one found by the
                # type's oid is its Python wrapper for dbapi20.Binary, two Python calls a value.
                raw.adapters.register_dumper(
                    bytes, psycopg.adapters.get_dumper(bytes, psycopg.adapt.PyFormat.BINARY)
                )
            except (psycopg.Error, OSError):
                self.failed = True
                return None
            self.raw, self.main = raw, self.wrapper.connection
        return raw

    def release(self) -> None:
        """After a use that may have left a transaction open (or failed): back to idle, or
        closed when it cannot be (the next `get` opens another)."""
        raw = self.raw
        if raw is None or raw.closed:
            return
        try:
            if raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                raw.execute("ROLLBACK")
        except (psycopg.Error, OSError):
            self.close()

    def broken(self) -> None:
        """After an error on it: closed, not used again until the next `begin`."""
        self.failed = True
        self.close()

    def close(self) -> None:
        raw, self.raw, self.main = self.raw, None, None
        if raw is not None:
            raw.close()


def side_connection(wrapper) -> SideConnection:
    """The side connection of a Django connection (see SideConnection), ready for a use."""
    side = getattr(wrapper, "side", None)
    if side is None:
        side = wrapper.side = SideConnection(wrapper)
        if hasattr(wrapper, "closing_with"):
            wrapper.closing_with.append(side)
    side.begin()
    return side
