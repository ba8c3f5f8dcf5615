"""The planner one chunk ahead of the writer, in a thread on the same database connection.

An import reads and checks a chunk of the file (Python, holding the GIL), then writes it (the
database: PostgreSQL's backend, another process, or SQLite's C code, which runs without the
GIL). One after the other, the two add up; here the planner thread checks the next chunk while
the calling thread writes the last one, so the database works on the other core meanwhile.

Both threads use the calling thread's connection (so its transaction), never at once: the
planner takes `database` (a lock) around its few queries (ImportContext.load_members), the
writer around each chunk it writes. On PostgreSQL the planner also prepares each chunk
(imports.prepared_ahead): its ids and COPY streams come from a second connection of its own
(articles/side.py), which needs no lock, and the writer only sends them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, connections

from ..ahead import run_ahead

T = TypeVar("T")

# While the planner thread computes, a database call returning on the writer's thread waits for
# the GIL until the planner gives it up: by default after 5 ms, a few dozen times per import.
SWITCH_INTERVAL = 0.0005
_switching = threading.Lock()
_switch_users = 0
_switch_before = 0.005


def _switch_faster(on: bool) -> None:
    """Python's thread switch interval shortened while an import plans ahead (counted, so that
    overlapping imports restore it only when the last one ends)."""
    global _switch_users, _switch_before
    with _switching:
        if on:
            if _switch_users == 0:
                _switch_before = sys.getswitchinterval()
                sys.setswitchinterval(min(SWITCH_INTERVAL, _switch_before))
            _switch_users += 1
        else:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_before)


def planned_ahead(plans: Iterator[T], *, alias: str = DEFAULT_DB_ALIAS) -> Iterator[T]:
    """Iterate `plans` in a thread, handing each item over as soon as it is ready (one waiting
    at most). An error in the planner is raised here; closing this generator (the caller's
    error) stops the planner at its next item and waits for it."""
    _switch_faster(True)
    try:
        # The planner's queries use the caller's connection (its transaction), not its own.
        yield from run_ahead(plans, connections[alias], name="import-planner", alias=alias)
    finally:
        _switch_faster(False)
