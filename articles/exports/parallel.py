"""The export on two cores (PostgreSQL): a forked process writes every other batch.

One process assembles rows and writes bytes under one GIL, however many threads read for it.
When the export has a transaction of its own (`reader.SNAPSHOT_SHAREABLE`), `write_in_two`
forks a second process that reads, assembles and writes its share of the batches in the
export's snapshot, on a connection of its own; its bytes come back through a pipe and this
process streams them in order between its own batches. The two processes plan the same
batches (the same query in the same snapshot); which batch is whose is `_theirs`.

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
import queue
import select
import signal
import struct
import threading
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator
from itertools import chain
from typing import Protocol

import psycopg
from django.conf import settings
from django.db import connections

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
    """Whether an export reading from `using` may run on two processes: PostgreSQL, in the
    export's own transaction, with the setting on and a system that forks."""
    return (
        getattr(settings, "EXPORT_PROCESSES", 1) > 1
        and SNAPSHOT_SHAREABLE.get()
        and connections[using].vendor == "postgresql"
        and hasattr(os, "fork")
    )


def _theirs(number: int) -> bool:
    return number >= FIRST_THEIRS and (number - FIRST_THEIRS) % 2 == 0


def write_in_two(
    corpus: Corpus,
    filters: ExportFilters,
    parts: frozenset[str],
    writer: BatchWriter,
) -> Generator[bytes, None, int]:
    """The export's chunks, the child's batches among this process's in order; returns the
    summed `count`. Falls back to one process (the reader's two threads) when it may not fork,
    and to this process reading every batch when the fork or the child's connection fails."""
    wrapper = connections[read_alias()]
    with reader.collector_paused() as alone:
        names = _Names()
        names.prepare(filters, parts)
        run = runner(wrapper)
        size, size_bytes = _for_two(reader.ARTICLES_PER_BATCH), _for_two(reader.BYTES_PER_BATCH)
        first_page = reader._planned_page(corpus, filters, run, 0)
        if not alone or len(first_page) < MIN_ARTICLES:
            batches = reader.read_batches(
                corpus, filters, names, parts=parts, first_page=first_page
            )
            yield from chunked(chain.from_iterable(writer.pieces(raw, names) for raw in batches))
            return writer.count
        (snapshot,) = run(Bound("SELECT pg_export_snapshot()", ()))[0]

        def plan(run: Callable) -> Iterator[list[int]]:
            return _plan_batches(corpus, filters, run, size, size_bytes, first_page)

        def read(run: Callable, article_ids: list[int]) -> _RawBatch:
            return _read_batch(filters, names, run, article_ids, parts)

        child = _Child.fork(
            lambda write_fd: _child_main(write_fd, wrapper, snapshot, plan, read, names, writer)
        )
        try:
            count = yield from _parent(wrapper, plan, read, names, writer, child)
        finally:
            if child is not None:
                child.end()
        return count


def _parent(
    wrapper,
    plan: Callable[[Callable], Iterator[list[int]]],
    read: Callable[[Callable, list[int]], _RawBatch],
    names: _Names,
    writer: BatchWriter,
    child: _Child | None,
) -> Generator[bytes, None, int]:
    """This process's side: its reader thread reads its own batches one ahead and hands over a
    placeholder for each of the child's; this thread writes its own and streams the child's."""

    def items(run: Callable) -> Iterator[_RawBatch | tuple[object, int, list[int]]]:
        child_writes: bool | None = None if child is not None else False
        for number, article_ids in enumerate(plan(run)):
            if _theirs(number):
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
    if child is not None and child.writes:
        child_count, queries = child.finish()
        if wrapper.queries_logged:
            wrapper.queries_log.extend(queries)
    return writer.count + child_count


class _Child:
    """The forked process, seen from the parent: its pid and the read end of its pipe."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd
        self.writes = False  # said it is connected
        self.reaped = False

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

    def hello(self) -> bool:
        """Whether the child connected (False: refused, or silent for `HELLO_SECONDS`; it is
        then ended and this process reads every batch)."""
        try:
            kind, _ = self._frame(HELLO_SECONDS)
        except ExportProcessError:
            kind = _REFUSED
        if kind == _HELLO:
            self.writes = True
            return True
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
        self.end(kill=False)  # it exits once that frame is sent
        return done["count"], done["queries"]

    def end(self, *, kill: bool = True) -> None:
        """Close the pipe, kill the child unless it has exited (or, `kill=False`, wait for it
        to) and reap it. Idempotent."""
        if self.reaped:
            return
        self.reaped = True
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
    """The child's life: connect in the snapshot, read and write its batches, `os._exit`."""
    code = 1
    out: queue.Queue = queue.Queue(maxsize=_QUEUED)
    sender: threading.Thread | None = None
    try:
        _detach(write_fd)
        try:
            connection = reader._connect_in_snapshot(wrapper, snapshot)
        except (psycopg.Error, OSError) as error:
            _send(write_fd, _REFUSED, str(error).encode())
            code = 0
            return
        _send(write_fd, _HELLO)
        sender = threading.Thread(target=_sender, args=(write_fd, out), daemon=True)
        sender.start()
        queries: list[dict] = []
        if wrapper.queries_logged:
            wrapper.queries_log.clear()
        run = raw_runner(connection, wrapper)

        def mine() -> Iterator[tuple[int, list[int], _RawBatch]]:
            for number, article_ids in enumerate(plan(run)):
                if _theirs(number):
                    yield number, article_ids, read(run, article_ids)

        # Its queries run while this thread assembles and writes the batch before.
        for number, article_ids, raw in run_ahead(mine(), None, name="export-child-reader"):
            for chunk in chunked(iter(writer.pieces(raw, names))):
                out.put((_DATA, chunk))
            out.put((_BATCH_END, _BATCH.pack(number, article_ids[0])))
        if wrapper.queries_logged:
            queries = list(wrapper.queries_log)
        done = {"count": writer.count, "queries": queries}
        out.put((_FINISHED, json.dumps(done).encode()))
        code = 0
    except BaseException:
        message = traceback.format_exc().encode("utf-8", "replace")
        if sender is None:
            with contextlib.suppress(OSError):
                _send(write_fd, _ERROR, message)
        else:
            out.put((_ERROR, message))
    finally:
        if sender is not None:
            out.put(None)
            sender.join()
        os._exit(code)


def _detach(keep: int) -> None:
    """Leave the parent's world: its signal handlers (a server's) and every descriptor it had
    open (its database sockets, a server's listening socket) but `keep` and the standard ones."""
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)


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
