"""What every writer shares on the way out: compact JSON, joining pieces into chunks, and
`stream(spec)`, the bytes of an export read inside one transaction (one consistent snapshot)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from ..replica import reads_from
from .reader import SNAPSHOT_SHAREABLE
from .spec import ExportSpec

# The size of each write to the client. At 64 KiB (about 80 KiB with the last piece) about one
# export in three stalled on gunicorn's socket: its writes blocked for 0.12 s in all while
# neither end was busy (the 1,000-document JSONL export: 0.21 s when it did not, 0.33 s when it
# did, on loopback with `requests` reading 256 KiB at a time). From 256 KiB on, no stall in
# dozens of exports (bench/README.md, "Export: the socket's stalls").
CHUNK_BYTES = 256 * 1024


T = TypeVar("T")

# Values whose written form a writer keeps (names, fixed words, topics, labels repeat): at most
# this many per `Written`.
WRITTEN_KEPT = 10_000


class Written(dict[Any, T]):
    """The written form of values that repeat (a CSV cell, a JSON piece), made by `write` on
    first sight and looked up after; emptied when it passes `WRITTEN_KEPT` values, so that a
    corpus of ever new labels keeps the memory flat."""

    def __init__(self, write: Callable[[Any], T]) -> None:
        super().__init__()
        self.write = write

    def __missing__(self, value: Any) -> T:
        if len(self) >= WRITTEN_KEPT:
            self.clear()
        found = self[value] = self.write(value)
        return found


def compact_json() -> Callable[[object], str]:
    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def chunked(pieces: Iterator[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Join small pieces into chunks of about `size` bytes (fewer, larger writes)."""
    buffer: list[bytes] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


@contextmanager
def reading(using: str) -> Iterator[None]:
    """A transaction in which the block only reads, on the database `using` names.

    On SQLite the app's transactions begin IMMEDIATE (settings: two writers queue on the busy
    timeout rather than fail half-way), which takes the write lock at BEGIN: an export inside
    one stopped every writer for as long as it read, and a writer that waited past the busy
    timeout (20 s: a large corpus's export) failed with "database is locked". This block begins
    DEFERRED instead: in WAL mode a transaction that only reads sees one snapshot, from its
    first read to its end, while writers go on committing. Elsewhere, or inside a caller's
    transaction, it is `transaction.atomic`."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    sqlite: Any = connection  # (django-stubs know no `transaction_mode`, Django 5.1's)
    sqlite.ensure_connection()
    with ExitStack() as block:
        mode, sqlite.transaction_mode = sqlite.transaction_mode, None  # plain BEGIN
        try:
            block.enter_context(transaction.atomic(using=using))
        finally:
            sqlite.transaction_mode = mode
        yield


def stream(spec: ExportSpec) -> Iterator[bytes]:
    """The export's bytes. Reads run in one transaction so the whole export is one snapshot
    (REPEATABLE READ on PostgreSQL when this is the outermost transaction; on SQLite a read
    transaction that lets writers go on: `reading`), on the database `spec.using` names (the
    primary, or the replica for a heavy read)."""
    connection = connections[spec.using]
    outermost = not connection.in_atomic_block
    # The export's own transaction on the primary: the reader may share its snapshot with a
    # second connection (a caller's transaction may hold writes that no other connection sees;
    # a hot standby exports no snapshots). On SQLite, `reading` has begun a read transaction that
    # has read nothing yet: a second process may begin one in the same database
    # (`sqlite_resident`).
    shareable = (
        outermost
        and connection.vendor in ("postgresql", "sqlite")
        and spec.using == DEFAULT_DB_ALIAS
    )
    with reads_from(spec.using), reading(spec.using):
        if outermost and connection.vendor == "postgresql":
            # Must be the transaction's first statement; a nested block keeps its caller's level.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # Set again rather than reset: a generator's clean-up may run in another context.
        before = SNAPSHOT_SHAREABLE.get()
        SNAPSHOT_SHAREABLE.set(shareable)
        try:
            yield from spec.format.writer(spec)
        finally:
            SNAPSHOT_SHAREABLE.set(before)
