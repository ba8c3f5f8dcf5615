"""The export on two cores (PostgreSQL): a second process writes every other batch.

One process assembles rows and writes bytes under one GIL, however many threads read for it.
When the export has a transaction of its own (`reader.SNAPSHOT_SHAREABLE`), `write_in_two`
gives a second process its share of the batches, which it reads, assembles and writes in the
export's snapshot, on a connection of its own; its bytes come back through a pipe and this
process streams them in order between its own batches. The two processes plan the same
batches (the same query in the same snapshot); which batch is whose is `_theirs`.

The second process is the process's resident (`Resident`, from `RESIDENT_MIN_ARTICLES`
articles): forked once, when a server worker starts or by the first export that may fork, and
kept with its connection from one export to the next. Without one (busy with another thread's
export, or it could not start), an export of `MIN_ARTICLES` or more forks a child for itself
alone (`_Child.fork`), which exits when the export ends; below that, the export keeps one
process. What follows holds for both.

Safety, in order of the export's life:

- It forks only when no other export runs in this process (`reader.collector_paused` counts
  them) and before this export's reader thread starts: no thread of ours is then running, and
  the child runs nothing but this module's code. `settings.EXPORT_PROCESSES = 1` turns it off.
- The child never touches the parent's database connections (psycopg would send Terminate on
  close): it closes every inherited file descriptor but its pipe, connects with
  `connect_beside()`, `SET TRANSACTION SNAPSHOT`, and ends with `os._exit` (no atexit, no
  finalizer, no Django clean-up), whatever happens.
- A failed fork, a refused connection or a child that does not say it is connected within
  `HELLO_SECONDS` leaves every batch to this process: the same bytes.
- An error in the child is sent to the parent and raised there (`ExportProcessError`); a child
  that dies silently is an end of file, raised too; a batch the child wrote for other articles
  than the parent planned is raised. Never a shorter export.
- Closing the generator (the client went away) kills the child and reaps it; the pipe is
  closed. A parent killed outright leaves the child a broken pipe at its next write: it exits.

Memory stays flat: each process holds the batch it writes and the one its reader thread reads
ahead; the child's writer thread holds at most `_QUEUED` chunks that the parent has not read.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import queue
import select
import signal
import struct
import threading
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import Protocol

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from ..ahead import run_ahead
from ..filters import ExportFilters
from ..models import Corpus
from ..replica import read_alias
from . import reader
from .reader import (
    ARTICLES_WRITTEN,
    SNAPSHOT_SHAREABLE,
    _for_two,
    _Names,
    _plan_batches,
    _RawBatch,
    _read_batch,
)
from .sql import Bound, raw_runner, runner
from .streaming import chunked


class ExportProcessError(RuntimeError):
    """The export's second process failed, or ended without writing its share."""


class BatchWriter(Protocol):
    """A format's bytes for a batch of articles, in either process, from the batch's rows as
    read (`reader.read_batches`; `names` knows the ids they hold). `count` is what the format
    counts as it writes (W3C's items); the two processes' counts are summed."""

    count: int

    def pieces(self, raw: _RawBatch, names: _Names) -> Iterable[bytes]: ...


# Forks only when the export has at least this many articles (a full first page of the plan,
# `reader.PLANNED_AT_ONCE`): at issue 17's 1,000 documents the fork, the child's connection and
# both processes' copy-on-write faults cost more than the second core gives (bench/README.md,
# "The export on two cores").
MIN_ARTICLES = 2000
# The child's first batch; the parent writes the batches before it while the child connects.
FIRST_THEIRS = 2
# How long the parent waits for the child to say it is connected before it writes every batch
# itself, and for any frame after that before it gives up.
HELLO_SECONDS = 10.0
SILENCE_SECONDS = 300.0
# Chunks the child's writer thread may hold while the parent writes its own batch.
_QUEUED = 64
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux

_FRAME = struct.Struct("!cI")
_HELLO, _REFUSED, _DATA, _BATCH_END, _ERROR, _FINISHED = b"H", b"R", b"D", b"B", b"E", b"F"
_BATCH = struct.Struct("!IQ")  # a batch's number and its first article's id
_THEIRS = object()


def applies(using: str) -> bool:
    """Whether an export reading from `using` may run on two processes: in the export's own
    transaction, where `_two_processes` allows it (SQLite: where its resident runs)."""
    if connections[using].vendor == "sqlite":
        from . import sqlite_resident  # (it imports this module)

        return sqlite_resident.applies(using)
    return SNAPSHOT_SHAREABLE.get() and _two_processes(connections[using])


def _two_processes(wrapper, vendor: str = "postgresql") -> bool:
    """Exports on this database may use a second process: `vendor`'s (PostgreSQL here; SQLite
    has a resident of its own, `sqlite_resident`), with the setting on and a system that
    forks."""
    return (
        getattr(settings, "EXPORT_PROCESSES", 1) > 1
        and wrapper.vendor == vendor
        and hasattr(os, "fork")
    )


def _theirs(number: int, first: int = FIRST_THEIRS) -> bool:
    return number >= first and (number - first) % 2 == 0


def write_in_two(
    corpus: Corpus,
    filters: ExportFilters,
    parts: frozenset[str],
    writer: BatchWriter,
) -> Generator[bytes, None, int]:
    """The export's chunks, the child's batches among this process's in order; returns the
    summed `count`. The child is the process's resident second process when there is one or it
    can be started (`Resident`), else one forked for this export. Falls back to one process (the
    reader's two threads) when it may not fork, and to this process reading every batch when the
    fork or the child's connection fails."""
    wrapper = connections[read_alias()]
    if wrapper.vendor == "sqlite":
        from .sqlite_resident import write_in_two as sqlite_in_two

        return (yield from sqlite_in_two(corpus, filters, parts, writer))
    with reader.collector_paused() as alone:
        names = _Names()
        names.prepare(filters, parts)
        run = runner(wrapper)
        size, size_bytes = _for_two(reader.ARTICLES_PER_BATCH), _for_two(reader.BYTES_PER_BATCH)
        first_page = reader._planned_page(corpus, filters, run, 0)
        resident = (
            Resident.take(wrapper, start=alone)
            if len(first_page) >= RESIDENT_MIN_ARTICLES
            else None
        )
        if resident is None and (not alone or len(first_page) < MIN_ARTICLES):
            batches = reader.read_batches(
                corpus, filters, names, parts=parts, first_page=first_page
            )
            yield from chunked(chain.from_iterable(writer.pieces(raw, names) for raw in batches))
            return writer.count
        child: _Child | None = None
        try:
            (snapshot,) = run(Bound("SELECT pg_export_snapshot()", ()))[0]

            def plan(run: Callable) -> Iterator[list[int]]:
                return _plan_batches(corpus, filters, run, size, size_bytes, first_page)

            def read(run: Callable, article_ids: list[int]) -> _RawBatch:
                return _read_batch(filters, names, run, article_ids, parts)

            first = FIRST_THEIRS
            if resident is not None:
                job = _Job(corpus, filters, parts, writer, snapshot, size, size_bytes, first_page)
                child = resident.run(job, log_queries=wrapper.queries_logged)
                resident = None  # the child holds it now (None: it was lost, and dropped)
                first = RESIDENT_FIRST_THEIRS
            if child is None and alone and len(first_page) >= MIN_ARTICLES:
                first = FIRST_THEIRS
                child = _Child.fork(
                    lambda write_fd: _child_main(
                        write_fd, wrapper, snapshot, plan, read, names, writer
                    )
                )
            count = yield from _parent(wrapper, plan, read, names, writer, child, first)
        finally:
            if child is not None:
                child.end()
            if resident is not None:  # taken, never given a job
                resident.release()
        return count


def _parent(
    wrapper,
    plan: Callable[[Callable], Iterator[list[int]]],
    read: Callable[[Callable, list[int]], _RawBatch],
    names: _Names,
    writer: BatchWriter,
    child: _Child | None,
    first_theirs: int = FIRST_THEIRS,
) -> Generator[bytes, None, int]:
    """This process's side: its reader thread reads its own batches one ahead and hands over a
    placeholder for each of the child's (`first_theirs`, then every other one); this thread
    writes its own and streams the child's."""

    def items(run: Callable) -> Iterator[_RawBatch | tuple[object, int, list[int]]]:
        child_writes: bool | None = None if child is not None else False
        for number, article_ids in enumerate(plan(run)):
            if _theirs(number, first_theirs):
                if child_writes is None:
                    child_writes = child.hello() if child is not None else False
                if child_writes:
                    yield (_THEIRS, number, article_ids)
                    continue
            yield read(run, article_ids)

    child_count = 0
    for item in run_ahead(items(runner(wrapper)), wrapper, name="export-reader"):
        if isinstance(item, tuple):
            assert child is not None
            _, number, article_ids = item
            yield from child.batch(number, article_ids[0])
            written = len(article_ids)
        else:
            yield from chunked(iter(writer.pieces(item, names)))
            written = len(item.articles)
        if (progress := ARTICLES_WRITTEN.get()) is not None:
            progress(written)
    if child is not None and child.resident is not None and not child.writes and not child.reaped:
        child.hello()  # a resident answers every job, one without a batch of its own too
    if child is not None and child.writes:
        child_count, queries = child.finish()
        if wrapper.queries_logged:
            wrapper.queries_log.extend(queries)
    return writer.count + child_count


class _Child:
    """The forked process, seen from the parent: its pid and the read end of its pipe."""

    def __init__(self, pid: int, fd: int, resident: Resident | None = None) -> None:
        self.pid, self.fd = pid, fd
        self.writes = False  # said it is connected
        self.reaped = False
        # The resident second process this is a job of (`Resident`), kept when the job ends
        # well: `finish` read, or the child refused and wrote nothing.
        self.resident = resident
        self.finished = False

    @classmethod
    def fork(cls, main: Callable[[int], None]) -> _Child | None:
        """Fork a child that runs `main(write_fd)` and exits; None if the system refuses."""
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return None
        with contextlib.suppress(OSError):  # larger writes, fewer wake-ups (Linux)
            import fcntl  # (POSIX only, like os.fork)

            fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_BYTES)
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:  # the child: never returns
            try:
                os.close(read_fd)
                main(write_fd)
            finally:
                os._exit(70)
        os.close(write_fd)
        return cls(pid, read_fd)

    def hello(self, timeout: float = HELLO_SECONDS) -> bool:
        """Whether the child connected (False: refused, or silent for `timeout` seconds; it is
        then ended and this process reads every batch)."""
        kind: bytes | None
        try:
            kind, _ = self._frame(timeout)
        except ExportProcessError:
            kind = None  # silent, or gone
        if kind == _HELLO:
            self.writes = True
            return True
        if kind == _REFUSED and self.resident is not None:
            self.finished = True  # it said so and is waiting for the next job: kept
        self.end()
        return False

    def batch(self, number: int, first_id: int) -> Iterator[bytes]:
        """The child's chunks of batch `number`, as they arrive."""
        while True:
            kind, payload = self._frame(SILENCE_SECONDS)
            if kind == _DATA:
                yield payload
            elif kind == _BATCH_END:
                if _BATCH.unpack(payload) != (number, first_id):
                    raise ExportProcessError(
                        f"The export's second process wrote batch {_BATCH.unpack(payload)}, "
                        f"not {(number, first_id)}."
                    )
                return
            else:
                raise ExportProcessError(f"Unexpected frame {kind!r} from the second process.")

    def finish(self) -> tuple[int, list[dict]]:
        kind, payload = self._frame(SILENCE_SECONDS)
        if kind != _FINISHED:
            raise ExportProcessError(f"Unexpected frame {kind!r} from the second process.")
        done = json.loads(payload)
        self.finished = True
        self.end(kill=False)  # it exits once that frame is sent (a resident waits for a job)
        return done["count"], done["queries"]

    def end(self, *, kill: bool = True) -> None:
        """Close the pipe, kill the child unless it has exited (or, `kill=False`, wait for it
        to) and reap it. A resident's job that ended well hands the resident back instead; one
        that did not (an error, an abandoned export: frames may be left in the pipe) ends the
        resident. Idempotent."""
        if self.reaped:
            return
        self.reaped = True
        if self.resident is not None:
            if self.finished:
                self.resident.release()
            else:
                self.resident.stop()
            return
        with contextlib.suppress(OSError):
            os.close(self.fd)
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG if kill else 0)
            if pid == 0:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored)
            pass

    def _frame(self, timeout: float) -> tuple[bytes, bytes]:
        """The next frame (kind, payload); an error frame or an end of file is raised."""
        header = self._read(_FRAME.size, timeout)
        kind, length = _FRAME.unpack(header)
        payload = self._read(length, timeout) if length else b""
        if kind == _ERROR:
            raise ExportProcessError(
                "The export's second process failed:\n" + payload.decode("utf-8", "replace")
            )
        return kind, payload

    def _read(self, length: int, timeout: float) -> bytes:
        pieces: list[bytes] = []
        missing = length
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while missing:
            if not poller.poll(timeout * 1000):
                raise ExportProcessError(
                    f"The export's second process wrote nothing for {timeout:.0f} s."
                )
            # Without the GIL while it waits; exactly the frame's bytes, in one piece when the
            # child has written them all.
            piece = os.read(self.fd, missing)
            if not piece:
                raise ExportProcessError(
                    "The export's second process ended without finishing its share."
                )
            pieces.append(piece)
            missing -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


# --- The child ---------------------------------------------------------------------------------


def _child_main(
    write_fd: int,
    wrapper,
    snapshot: str,
    plan: Callable[[Callable], Iterator[list[int]]],
    read: Callable[[Callable, list[int]], _RawBatch],
    names: _Names,
    writer: BatchWriter,
) -> None:
    """The forked child's life: connect in the snapshot, read and write its batches,
    `os._exit`."""
    code = 1
    try:
        _detach(write_fd)
        try:
            connection = reader._connect_in_snapshot(wrapper, snapshot)
        except (psycopg.Error, OSError) as error:
            _send(write_fd, _REFUSED, str(error).encode())
            code = 0
            return
        batches = _read_and_write(connection, wrapper, plan, read, names, writer, FIRST_THEIRS)
        if _serve(write_fd, wrapper, batches, lambda: writer.count):
            code = 0
    finally:
        os._exit(code)


def _read_and_write(
    connection: psycopg.Connection,
    wrapper,
    plan: Callable[[Callable], Iterator[list[int]]],
    read: Callable[[Callable, list[int]], _RawBatch],
    names: _Names,
    writer: BatchWriter,
    first_theirs: int,
) -> Iterator[tuple[int, list[int], Iterable[bytes]]]:
    """A PostgreSQL child's batches on `connection` (in the export's snapshot), as `_serve`
    takes them: its queries run in a reader thread while this one writes the batch before."""
    run = raw_runner(connection, wrapper)

    def mine() -> Iterator[tuple[int, list[int], _RawBatch]]:
        for number, article_ids in enumerate(plan(run)):
            if _theirs(number, first_theirs):
                yield number, article_ids, read(run, article_ids)

    for number, article_ids, raw in run_ahead(mine(), None, name="export-child-reader"):
        yield number, article_ids, writer.pieces(raw, names)


def _serve(
    write_fd: int,
    wrapper,
    batches: Iterator[tuple[int, list[int], Iterable[bytes]]],
    count: Callable[[], int],
) -> bool:
    """A child's share of one export, its connection already in the export's snapshot: HELLO,
    the chunks of each of its `batches` (number, article ids, the batch's pieces; read lazily,
    after HELLO), FINISHED with its `count` (and its queries on `wrapper`, when logged), or ERROR
    with the traceback. Whether it finished."""
    out: queue.Queue = queue.Queue(maxsize=_QUEUED)
    sender: threading.Thread | None = None
    try:
        _send(write_fd, _HELLO)
        sender = threading.Thread(target=_sender, args=(write_fd, out), daemon=True)
        sender.start()
        queries: list[dict] = []
        if wrapper.queries_logged:
            wrapper.queries_log.clear()
        for number, article_ids, pieces in batches:
            for chunk in chunked(iter(pieces)):
                out.put((_DATA, chunk))
            out.put((_BATCH_END, _BATCH.pack(number, article_ids[0])))
        if wrapper.queries_logged:
            queries = list(wrapper.queries_log)
        done = {"count": count(), "queries": queries}
        out.put((_FINISHED, json.dumps(done).encode()))
        return True
    except BaseException:
        message = traceback.format_exc().encode("utf-8", "replace")
        if sender is None:
            with contextlib.suppress(OSError):
                _send(write_fd, _ERROR, message)
        else:
            out.put((_ERROR, message))
        return False
    finally:
        if sender is not None:
            out.put(None)
            sender.join()


# --- The resident second process -----------------------------------------------------------

# An export of at least this many articles (its plan's first page) gives every other batch to
# the resident second process: below, there are too few batches to share.
RESIDENT_MIN_ARTICLES = 250
# The resident is connected before the export begins: it writes from the second batch on.
RESIDENT_FIRST_THEIRS = 1
# Whether a process keeps its second process between exports (tests of the forked child turn
# it off).
KEEP_SECOND_PROCESS = True

_JOB, _DISCONNECT = b"J", b"X"
# How the resident's connection is named to the server (`pg_stat_activity.application_name`).
RESIDENT_APPLICATION = "argument-annotator export process"


@dataclass
class _Job:
    """What the resident needs to write its share of an export (pickled to it)."""

    corpus: Corpus
    filters: ExportFilters
    parts: frozenset[str]
    writer: BatchWriter
    snapshot: str
    size: int
    size_bytes: int
    first_page: list[tuple[int, int]]
    log_queries: bool = False


class _Sent(Protocol):
    """A job of another kind of resident (`sqlite_resident`)."""

    log_queries: bool


class Resident:
    """A second process kept for the exports of this process (PostgreSQL), so that an export
    pays neither a fork, nor a new connection and its server process's cold caches, nor both
    processes' copy-on-write faults (bench/README.md, "The resident second process").

    It is forked when a gunicorn worker starts (`start_at_worker_start`, from annotator/wsgi.py),
    or by the first export that may fork (`collector_paused` says it is alone) when there is
    none. It waits on a pipe for jobs (`_Job`): each is one export's share, every other batch
    from the second, read on its own connection in the export's snapshot and written back
    through a second pipe as a forked child's are (`_serve`); its transaction then ends and it
    waits for the next. One export at a time uses it (`take`); an export that cannot have it
    runs as before. A job that does not end well (an error, an export abandoned half-way) ends
    the resident: the next export that may fork starts another. It exits when this process's
    end of the jobs pipe closes (this process exited), and drops its database connection when
    the Django connection of the export that last used it closes (`closing_with`), so that a
    database can be dropped (the test suite's) and a recycled connection is recycled on both
    sides.
    """

    _current: Resident | None = None
    _lock = threading.Lock()

    def __init__(self, pid: int, jobs_fd: int, data_fd: int) -> None:
        self.pid, self.jobs_fd, self.data_fd = pid, jobs_fd, data_fd
        self.owner = os.getpid()
        self.busy = False
        self.stopped = False

    @classmethod
    def take(cls, wrapper, *, start: bool) -> Resident | None:
        """The process's resident for one export (then `run` a job, or `release`), started
        now when there is none and `start`; None when it is off, busy, or cannot start."""
        if not KEEP_SECOND_PROCESS:
            return None
        with cls._lock:
            resident = cls._current
            if resident is not None and (resident.owner != os.getpid() or resident.stopped):
                resident = cls._current = None  # a parent's (after a fork), or gone
            if resident is None:
                if not start or (resident := cls._start(wrapper)) is None:
                    return None
                cls._current = resident
            if resident.busy:
                return None
            resident.busy = True
        if hasattr(wrapper, "closing_with") and _DISCONNECTS not in wrapper.closing_with:
            wrapper.closing_with.append(_DISCONNECTS)
        return resident

    @classmethod
    def start_at_worker_start(cls) -> None:
        """Start the resident of a server worker before it serves (annotator/wsgi.py): when
        exports may run on two processes here. No thread runs yet; it connects on its own."""
        wrapper = connections[DEFAULT_DB_ALIAS]
        if KEEP_SECOND_PROCESS and cls._may_start_here(wrapper):
            resident = cls.take(wrapper, start=True)
            if resident is not None:
                resident.release()

    @classmethod
    def _may_start_here(cls, wrapper) -> bool:
        return _two_processes(wrapper)

    @staticmethod
    def _main(jobs_fd: int, data_fd: int, wrapper) -> None:
        """The forked process's life (it never returns)."""
        _resident_main(jobs_fd, data_fd, wrapper)

    @classmethod
    def _start(cls, wrapper) -> Resident | None:
        try:
            jobs_read, jobs_write = os.pipe()
        except OSError:
            return None
        try:
            child = _Child.fork(lambda data_fd: cls._main(jobs_read, data_fd, wrapper))
        finally:
            os.close(jobs_read)
        if child is None:
            os.close(jobs_write)
            return None
        return cls(child.pid, jobs_write, child.fd)

    def run(self, job: _Job | _Sent, *, log_queries: bool) -> _Child | None:
        """Give it a job; the child to read it from (None: it is gone, and dropped)."""
        job.log_queries = log_queries
        try:
            _send(self.jobs_fd, _JOB, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            self.stop()
            return None
        return _Child(self.pid, self.data_fd, resident=self)

    def release(self) -> None:
        with self._lock:
            self.busy = False

    def disconnect(self) -> None:
        """Ask it to close its database connection (it connects again for its next job)."""
        if not self.stopped and self.owner == os.getpid():
            try:
                _send(self.jobs_fd, _DISCONNECT)
            except OSError:
                self.stop()

    def stop(self) -> None:
        """End it: close both pipes, kill it and reap it. Idempotent."""
        with self._lock:
            if self.stopped:
                return
            self.stopped = True
            self.busy = False
            if type(self)._current is self:
                type(self)._current = None
        for fd in (self.jobs_fd, self.data_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class _Disconnects:
    """In a Django connection's `closing_with`: when it closes, the resident drops its own."""

    def close(self) -> None:
        resident = Resident._current
        if resident is not None:
            resident.disconnect()


_DISCONNECTS = _Disconnects()


def _resident_main(jobs_fd: int, data_fd: int, wrapper) -> None:
    """The resident's life: connect, then one job after another until the jobs pipe ends."""
    code = 1
    try:
        _detach(data_fd, jobs_fd)
        connection: psycopg.Connection | None = None
        with contextlib.suppress(psycopg.Error, OSError):
            # Warm before the first job, if it can.
            connection = wrapper.connect_beside(application_name=RESIDENT_APPLICATION)
        for kind, payload in _jobs(jobs_fd):
            if kind == _DISCONNECT:
                if connection is not None:
                    connection.close()
                connection = None
                continue
            job: _Job = pickle.loads(payload)  # noqa: S301  (from our own parent, on its pipe)
            connection = _resident_in_snapshot(connection, wrapper, job.snapshot)
            if connection is None:
                _send(data_fd, _REFUSED, b"no connection in the export's snapshot")
                continue
            wrapper.force_debug_cursor = job.log_queries
            names = _Names()
            names.prepare(job.filters, job.parts)

            def plan(run: Callable, job: _Job = job) -> Iterator[list[int]]:
                return _plan_batches(
                    job.corpus, job.filters, run, job.size, job.size_bytes, job.first_page
                )

            def read(
                run: Callable, article_ids: list[int], job: _Job = job, names: _Names = names
            ) -> _RawBatch:
                return _read_batch(job.filters, names, run, article_ids, job.parts)

            batches = _read_and_write(
                connection, wrapper, plan, read, names, job.writer, RESIDENT_FIRST_THEIRS
            )
            with reader.collector_paused():
                done = _serve(data_fd, wrapper, batches, partial(getattr, job.writer, "count"))
            if not done:
                return  # the parent ends it (its error frame is sent)
            try:
                connection.execute("ROLLBACK")
            except (psycopg.Error, OSError):
                connection.close()
                connection = None
        code = 0  # the parent is gone
    finally:
        os._exit(code)


def _jobs(jobs_fd: int) -> Iterator[tuple[bytes, bytes]]:
    """A resident's frames (kind, payload), until the parent's end of the pipe closes."""
    while (frame := _receive(jobs_fd)) is not None:
        yield frame


def _resident_in_snapshot(
    connection: psycopg.Connection | None, wrapper, snapshot: str
) -> psycopg.Connection | None:
    """The resident's connection (a new one when it has none or it broke) in the export's
    snapshot; None when it cannot be had."""
    for _attempt in range(2):
        if connection is None or connection.closed or connection.broken:
            try:
                connection = wrapper.connect_beside(application_name=RESIDENT_APPLICATION)
            except (psycopg.Error, OSError):
                return None
        try:
            reader._begin_in_snapshot(connection, snapshot)
            return connection
        except (psycopg.Error, OSError):
            connection.close()
            connection = None
    return None


def _receive(fd: int) -> tuple[bytes, bytes] | None:
    """The next frame on a blocking pipe; None at its end."""
    header = _read_exactly(fd, _FRAME.size)
    if header is None:
        return None
    kind, length = _FRAME.unpack(header)
    payload = _read_exactly(fd, length) if length else b""
    return None if payload is None else (kind, payload)


def _read_exactly(fd: int, length: int) -> bytes | None:
    pieces: list[bytes] = []
    while length:
        piece = os.read(fd, length)
        if not piece:
            return None
        pieces.append(piece)
        length -= len(piece)
    return b"".join(pieces)


def _detach(*keep: int) -> None:
    """Leave the parent's world: its signal handlers (a server's) and every descriptor it had
    open (its database sockets, a server's listening socket) but `keep` and the standard ones."""
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _send(fd: int, kind: bytes, payload: bytes = b"") -> None:
    """One frame: large writes, the payload not copied (`writev`)."""
    pieces: list[bytes | memoryview] = [_FRAME.pack(kind, len(payload)), payload]
    while pieces:
        written = os.writev(fd, pieces)
        while pieces and written >= len(pieces[0]):
            written -= len(pieces[0])
            pieces.pop(0)
        if written:
            pieces[0] = memoryview(pieces[0])[written:]


def _sender(fd: int, out: queue.Queue) -> None:
    """The child's writer thread: frames into the pipe (blocking without the GIL while the
    parent writes its own batch), so the child's main thread goes on with the next batch."""
    while (frame := out.get()) is not None:
        try:
            _send(fd, *frame)
        except OSError:  # the parent is gone (a broken pipe): nobody to write for
            os._exit(0)
