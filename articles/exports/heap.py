"""The memory a worker's first export takes, mapped when the worker starts (`grow`).

An export holds a few batches of rows at once: on PostgreSQL some 30 MB for issue 17's corpus
(1,000 documents, 20,000 claims), in Python's small-object arenas and in the C heaps (glibc's
malloc arenas) of the threads that load the rows (the two readers) and write the lines (the
request's thread); on SQLite about 10 MB (not grown ahead: `exports.WARM_MEMORY`). The process
keeps that memory once it has it, so only a worker's first export asks the kernel for it, one
page fault per 4 KiB page: 7,000-8,000 more faults than the next exports, 15-25 ms of kernel
time on a warm machine and some 80 ms on a freshly booted virtual machine, where a page nobody
has touched yet costs several times as much (bench/README.md, "A worker's first export").
`grow` takes that memory at start instead and keeps it for the exports to reuse: a worker's
resident memory is then at start about what it would be after its first export.

How the memory stays mapped once freed: Python returns a small-object arena (1 MiB) to the
system only when it is empty, so one small object in every few hundred kept alive keeps the
arenas, with all their freed pools, ready for the next objects; glibc's malloc shrinks a heap
only from its top, so the last block allocated in each heap is kept alive and the freed blocks
below it stay mapped. A thread's heap goes to glibc's list of free arenas when the thread ends,
and the next new thread takes it: the request's thread of a threaded worker, an export's
readers.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

# Objects kept alive so that the memory around them stays mapped: a few hundred small ones.
_PINNED: list[bytes] = []
_grown = False
_lock = threading.Lock()
# What `top_up` compares with: the heaps' size, the modules and the library threads seen last.
_heap_mb = 0
_modules_seen = 0
_library_threads_seen = 0

# One in this many small objects stays: about two per 1 MiB arena of 448-byte blocks.
_SMALL_KEPT_EVERY = 1000
_SMALL_OBJECT = 400  # bytes of content: pymalloc's 448-byte size class (small objects end at 512)
_SMALL_BLOCK = 448
_BLOCK = 4096  # above 512 bytes: from the thread's malloc heap, below malloc's mmap threshold


def grow(small_mb: int, heaps: int, heap_mb: int) -> None:
    """Map about `small_mb` MB in Python's small-object arenas, and `heap_mb` MB in each of
    `heaps` malloc heaps for the threads started after (the request's thread of a threaded
    worker, an export's readers); written once, kept mapped. Once per process (later calls do
    nothing); no database connection, nothing started is left running."""
    global _grown, _heap_mb, _modules_seen, _library_threads_seen
    with _lock:
        if _grown:
            return
        _grown = True
        _small(small_mb)
        if heaps > 0:
            _thread_heaps(heaps, heap_mb)
        _heap_mb, _modules_seen = heap_mb, len(sys.modules)
        _library_threads_seen = _library_threads()


def top_up(**_signal: object) -> None:
    """After a request (Django's `request_finished`) that imported modules: threads that a
    library started and keeps (numpy's OpenBLAS, the tokenizers' pool: the embedding stack,
    imported by the first claim a worker creates) each took one of the free heaps for good, and
    an export's readers would start new ones; grow as many heaps again. Costs a length
    comparison on other requests."""
    global _modules_seen, _library_threads_seen
    if len(sys.modules) == _modules_seen or not _heap_mb:
        return
    with _lock:
        _modules_seen = len(sys.modules)
        started = _library_threads() - _library_threads_seen
        if started > 0:
            _library_threads_seen += started
            _thread_heaps(started, _heap_mb)


def _library_threads() -> int:
    """This process's threads that Python did not start (a C library's own)."""
    try:
        every = len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux: no count, nothing topped up
        return 0
    return every - threading.active_count()


def pinned() -> int:
    """How many objects `grow` keeps alive (tests)."""
    return len(_PINNED)


def _small(mb: int) -> None:
    written = b"\x01" * _SMALL_OBJECT
    objects = [written[:-1] + b"\x02" for _ in range(mb * 1024 * 1024 // _SMALL_BLOCK)]
    _PINNED.extend(objects[::_SMALL_KEPT_EVERY])


def _blocks(mb: int) -> bytes:
    """`mb` MB of blocks in this thread's malloc heap, all freed but the last (its top)."""
    blocks = [b"\x01" * _BLOCK for _ in range(mb * 1024 * 1024 // _BLOCK)]
    return blocks[-1] if blocks else b""


def _thread_heaps(heaps: int, mb: int) -> None:
    """Grow the heaps of `heaps` threads alive at once (so each gets its own) and end them: the
    heaps go to glibc's free list, where the next new threads (the request's, the export's
    readers) pick them up."""
    grown = threading.Barrier(heaps + 1, timeout=30)  # never holds a worker's start for long

    def grow_one() -> None:
        _PINNED.append(_blocks(mb))  # (list.append is atomic)
        with contextlib.suppress(threading.BrokenBarrierError):
            grown.wait()  # every thread keeps its heap until all have one

    threads = [
        threading.Thread(target=grow_one, name=f"export-heap-{index}", daemon=True)
        for index in range(heaps)
    ]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        grown.wait()
    for thread in threads:
        thread.join()
