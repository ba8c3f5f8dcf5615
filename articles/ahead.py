"""One item ahead, in a thread on the caller's database connection.

The import's planner (imports/ahead.py) and the export's reader (exports/reader.py) both run a
generator in a thread and hand its items over one at a time, so that Python on one thread and
the database's work on the other overlap. The thread uses the caller's connection, never at
once with it: the caller only takes an item, and closing the generator waits for the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from django.db import connections

T = TypeVar("T")
_FINISHED = object()


def put_unless_stopped(handover: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Put `item` on the bounded `handover`, waiting for room unless `stop` is set (False)."""
    while not stop.is_set():
        try:
            handover.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def run_ahead(items: Iterable[T], wrapper, *, name: str, alias: str | None = None) -> Iterator[T]:
    """Iterate `items` in a thread, handing each over as soon as it is ready (one waiting at
    most). `wrapper` is the caller's connection, shared with the thread while it runs (None:
    the items use no Django connection, such as the export's second process on its own); with
    `alias`, the thread's `connections[alias]` is that connection too (so the ORM there uses
    the caller's transaction). An error in the thread is raised here; closing this generator
    stops the thread at its next item and waits for it."""
    handover: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def work() -> None:
        if alias is not None:
            connections[alias] = wrapper
        try:
            for item in items:
                if not put_unless_stopped(handover, item, stop):
                    return
            put_unless_stopped(handover, _FINISHED, stop)
        except BaseException as error:  # handed to the caller, raised there
            put_unless_stopped(handover, error, stop)
        finally:
            if alias is not None:
                del connections[alias]

    # Django refuses a connection to another thread until sharing is declared.
    if wrapper is not None:
        wrapper.inc_thread_sharing()
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = handover.get()
            if item is _FINISHED:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        if wrapper is not None:
            wrapper.dec_thread_sharing()
