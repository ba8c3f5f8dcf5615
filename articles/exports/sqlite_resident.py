"""The export on two cores (SQLite): a resident second process writes every other batch.

PostgreSQL's second process (`parallel.Resident`) reads in the export's snapshot, which the
server hands over (`pg_export_snapshot`). SQLite hands over no snapshot, but in WAL mode a read
transaction sees the database as of its first read, and two connections that begin reading
while no commit can happen see the same database. So an export that gives the resident a share:

1. takes the write lock on a connection of its own (`BEGIN IMMEDIATE`, refused at once when a
   writer holds it: the export then runs in one process, as it always could);
2. sends the resident its job; the resident begins its read transaction and says HELLO;
3. begins its own (its first read), waits for that HELLO, and lets go of the lock.

A writer that asked for the lock in between waits on its busy timeout (a few milliseconds, the
time of a pipe's round trip) and commits after both snapshots began: neither export process
sees it. From then on it is PostgreSQL's scheme: both processes plan the same batches in the
same database; the resident writes every other one from the second (`parallel._theirs`) and
sends its bytes back through a pipe (`parallel._serve`); this process streams them in order
between its own. JSONL's lines are written as in one process (`fragments`: SQLite writes each
row's JSON), CSV's and W3C's by their `parallel.BatchWriter`.

The one hazard PostgreSQL's resident does not have: SQLite's Unix layer keeps, per process, the
files it has open with the locks it believes it holds, and a fork copies that bookkeeping. A
child that opened a database its parent had open could skip taking a lock it believes it holds
already, and read while a checkpoint rewrites the pages. So this resident is forked only when
the process has no connection to the database open: by a server worker as it starts
(`start_at_worker_start`, from annotator/wsgi.py, after `warm_up`, which opens none), never by an
export. Without one (a development server that had connected before, a test process, the
setting off, an in-memory database) exports run in one process.

Measured on issue 17's corpus (1,000 documents, JSONL, in process): 120 ms in one process, about
90 ms with the resident (bench/README.md, "Session 15").
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sqlite3
import threading
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ..filters import ExportFilters
from ..models import Corpus, CorpusCounts
from . import parallel, reader
from .fragments import _batch_lines, fragment_queries
from .parallel import (
    RESIDENT_FIRST_THEIRS,
    BatchWriter,
    Resident,
    _Child,
    _detach,
    _send,
    _serve,
    _theirs,
)
from .reader import (
    ARTICLES_WRITTEN,
    SNAPSHOT_SHAREABLE,
    _for_two,
    _Names,
    _plan_batches,
    _read_batch,
)
from .sql import runner
from .streaming import chunked, reading

# The read that begins a connection's snapshot (any read of the database file does).
SNAPSHOT_BEGINS = "SELECT 1 FROM sqlite_schema LIMIT 1"
# How long the export waits for the resident's HELLO while it holds the write lock: a writer
# waits as long at most (its busy timeout is 20 s); the resident, connected and waiting on its
# pipe, answers within a millisecond.
HELLO_SECONDS = 2.0


def database_file(wrapper) -> str | None:
    """The file of a SQLite database that other processes can open (None: in memory, a URI,
    or no such file)."""
    if wrapper.vendor != "sqlite":
        return None
    name = str(wrapper.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return os.path.abspath(name) if os.path.isfile(name) else None


def applies(using: str) -> bool:
    """Whether an export reading from `using` may give a share to the resident: SQLite's
    primary, in the export's own read transaction (`streaming.stream`: nothing read in it yet),
    with this process's resident running."""
    if not SNAPSHOT_SHAREABLE.get() or using != DEFAULT_DB_ALIAS:
        return False
    resident = SqliteResident._current
    return (
        isinstance(resident, SqliteResident)
        and not resident.stopped
        and resident.owner == os.getpid()
        # The file it was started for (a test process's database is another: in memory).
        and resident.path is not None
        and database_file(connections[using]) == resident.path
    )


@dataclass
class _Job:
    """One export's share (pickled to the resident). `writer` None: JSONL's fragment lines."""

    corpus: Corpus
    filters: ExportFilters
    parts: frozenset[str]
    writer: BatchWriter | None
    size: int
    size_bytes: int
    log_queries: bool = False


class SqliteResident(Resident):
    """The second process of a server worker's SQLite exports: forked when the worker starts,
    before it has any database connection; it connects on its own and waits on a pipe for jobs
    (`_Job`), one export's share each. An export that finds it busy, or gone, runs in one
    process; a job that does not end well ends it, and no other is started. So does a job that
    finds the database file replaced under the server (a restore): it has the old file open, and
    ends rather than write batches of it."""

    _current: Resident | None = None
    _lock = threading.Lock()
    # The database file it was started for.
    path: str | None = None

    @classmethod
    def _may_start_here(cls, wrapper) -> bool:
        """Exports here may use it, and no database connection of this process is open (a
        worker's start, annotator/wsgi.py: `start_at_worker_start`)."""
        return (
            # A test process imports the WSGI entry point too (tests/security/test_fuzz.py): its
            # settings name a file, its database is in memory.
            not getattr(settings, "TESTING", False)
            and database_file(wrapper) is not None
            and parallel._two_processes(wrapper, vendor="sqlite")
            and not any(c.connection is not None for c in connections.all(initialized_only=True))
        )

    @staticmethod
    def _main(jobs_fd: int, data_fd: int, wrapper) -> None:
        _resident_main(jobs_fd, data_fd, wrapper.alias)

    @classmethod
    def _start(cls, wrapper) -> Resident | None:
        path = database_file(wrapper)
        resident = super()._start(wrapper)
        if isinstance(resident, SqliteResident):
            resident.path = path
        return resident


def write_in_two(
    corpus: Corpus,
    filters: ExportFilters,
    parts: frozenset[str],
    writer: BatchWriter | None,
) -> Generator[bytes, None, int]:
    """The export's chunks, the resident's batches among this process's in order; returns the
    summed count (`writer`'s; JSONL's fragment lines, `writer` None, count nothing). In one
    process, with the usual batches, when the resident is busy or gone, a writer holds the lock,
    or the resident cannot begin."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    with reader.collector_paused():
        names = _Names()
        run = runner(wrapper)
        if writer is None:
            queries = fragment_queries(filters)

            def mine(article_ids: list[int]) -> Iterable[bytes]:
                return _batch_lines(queries, names, run, article_ids)

        else:
            names.prepare(filters, parts)

            def mine(article_ids: list[int]) -> Iterable[bytes]:
                return writer.pieces(_read_batch(filters, names, run, article_ids, parts), names)

        size, size_bytes = _for_two(reader.ARTICLES_PER_BATCH), _for_two(reader.BYTES_PER_BATCH)
        child = _pair(wrapper, _Job(corpus, filters, parts, writer, size, size_bytes))
        if child is None:
            size, size_bytes = reader.ARTICLES_PER_BATCH, reader.BYTES_PER_BATCH
        try:
            for number, article_ids in enumerate(
                _plan_batches(corpus, filters, run, size, size_bytes)
            ):
                if child is not None and _theirs(number, RESIDENT_FIRST_THEIRS):
                    yield from child.batch(number, article_ids[0])
                else:
                    yield from chunked(iter(mine(article_ids)))
                if (progress := ARTICLES_WRITTEN.get()) is not None:
                    progress(len(article_ids))
            count = 0 if writer is None else writer.count
            if child is not None:
                child_count, child_queries = child.finish()
                count += child_count
                if wrapper.queries_logged:
                    wrapper.queries_log.extend(child_queries)
            return count
        finally:
            if child is not None:
                child.end()


def _pair(wrapper, job: _Job) -> _Child | None:
    """The resident, in the same database as this process's read transaction, which has begun
    (see the module's docstring); None, nothing begun, when it cannot be had."""
    resident = SqliteResident.take(wrapper, start=False)
    if resident is None:
        return None
    path: str | None = getattr(resident, "path", None)
    lock = None if path is None else _writers_held(path, job.corpus.pk)
    if lock is None:
        resident.release()
        return None
    child: _Child | None = None
    try:
        child = resident.run(job, log_queries=wrapper.queries_logged)
        if child is None:
            return None
        with wrapper.cursor() as cursor:
            cursor.execute(SNAPSHOT_BEGINS)
        if not child.hello(HELLO_SECONDS):  # it is ended (or kept, when it refused)
            return None
        return child
    except BaseException:
        if child is not None:
            child.end()
        raise
    finally:
        with contextlib.suppress(sqlite3.Error):
            lock.execute("ROLLBACK")
        lock.close()


def _writers_held(path: str, corpus_id: int) -> sqlite3.Connection | None:
    """A connection holding the database's write lock, for an export of the corpus (None: it
    has fewer than `parallel.RESIDENT_MIN_ARTICLES` live articles, too few batches to share, as
    its counters say; a writer has the lock; or the file cannot be opened)."""
    try:
        lock = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        counted = lock.execute(_LIVE_ARTICLES, [corpus_id]).fetchone()
        if counted is None or counted[0] < parallel.RESIDENT_MIN_ARTICLES:
            lock.close()
            return None
        lock.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        lock.close()
        return None
    return lock


# (Names from the model, not from input.)
_LIVE_ARTICLES = (
    f"SELECT {CorpusCounts._meta.get_field('articles').column}"  # noqa: S608
    f" FROM {CorpusCounts._meta.db_table}"
    f" WHERE {CorpusCounts._meta.get_field('corpus').column} = ?"
)


# --- The resident ------------------------------------------------------------------------------


def _resident_main(jobs_fd: int, data_fd: int, alias: str) -> None:
    """The resident's life: connect, then one job after another until the jobs pipe ends."""
    code = 1
    try:
        _detach(data_fd, jobs_fd)
        wrapper = connections[alias]
        # The file its worker was started for (the same settings, read the same way).
        path = database_file(wrapper)
        if path is None:
            return  # gone since: the worker's exports run in one process
        opened: tuple[int, int] | None = None
        with contextlib.suppress(DatabaseError, OSError):
            opened = _connected(wrapper, path)  # warm before the first job, if it can
        for kind, payload in parallel._jobs(jobs_fd):
            if kind != parallel._JOB:
                continue
            job: _Job = pickle.loads(payload)  # noqa: S301  (from our own parent, on its pipe)
            block = contextlib.ExitStack()
            try:
                if opened is None:
                    opened = _connected(wrapper, path)
                elif _identity(path) != opened:
                    # The file was replaced under the server (a restore): what this process has
                    # open is the old one. It ends (the export runs in one process), rather than
                    # write batches of the old database.
                    return
                block.enter_context(reading(alias))
                with wrapper.cursor() as cursor:
                    cursor.execute(SNAPSHOT_BEGINS)
            except (DatabaseError, OSError) as error:
                with contextlib.suppress(DatabaseError, OSError):
                    block.close()
                    wrapper.close()
                opened = None
                _send(data_fd, parallel._REFUSED, str(error).encode())
                continue
            with block:
                wrapper.force_debug_cursor = job.log_queries
                done = _serve(data_fd, wrapper, _batches(job, wrapper), partial(_count, job))
            if not done:
                return  # the parent ends it (its error frame is sent)
        code = 0  # the parent is gone
    finally:
        os._exit(code)


def _connected(wrapper, path: str) -> tuple[int, int]:
    """Connect `wrapper` to the file at `path`; that file's identity (`_identity`)."""
    opened = _identity(path)
    wrapper.ensure_connection()
    return opened


def _identity(path: str) -> tuple[int, int]:
    """The file at `path`: its device and inode."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def _count(job: _Job) -> int:
    return 0 if job.writer is None else job.writer.count


def _batches(job: _Job, wrapper) -> Iterator[tuple[int, list[int], Iterable[bytes]]]:
    """The resident's batches of a job, as `parallel._serve` takes them."""
    run = runner(wrapper)
    names = _Names()
    writer = job.writer
    if writer is None:
        queries = fragment_queries(job.filters)
    else:
        names.prepare(job.filters, job.parts)
    with reader.collector_paused():
        plan = _plan_batches(job.corpus, job.filters, run, job.size, job.size_bytes)
        for number, article_ids in enumerate(plan):
            if not _theirs(number, RESIDENT_FIRST_THEIRS):
                continue
            if writer is None:
                pieces: Iterable[bytes] = _batch_lines(queries, names, run, article_ids)
            else:
                raw = _read_batch(job.filters, names, run, article_ids, job.parts)
                pieces = writer.pieces(raw, names)
            yield number, article_ids, pieces


def resident_pid() -> int | None:
    """This process's SQLite resident's pid, when it runs (for tests and benchmarks)."""
    resident = SqliteResident._current
    return None if resident is None or resident.stopped else resident.pid
