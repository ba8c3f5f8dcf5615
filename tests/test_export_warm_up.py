"""`exports.warm_up`, which the WSGI entry point runs in each worker before its first request:
the export's queries compiled, and the memory an export holds mapped (`exports.heap`). It needs
no database, leaves no thread running, and an export after it reads what the database holds
then (nothing compiled or mapped at start carries data)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from django.db import connection

from articles import exports
from articles.exports import heap
from articles.exports import reader as export_reader
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory

HEAP = Path(exports.__file__).with_name("heap.py")


@pytest.fixture
def fresh_heap(monkeypatch):
    """`heap` as in a process that has not grown anything yet (its pins dropped after)."""
    monkeypatch.setattr(heap, "_grown", False)
    monkeypatch.setattr(heap, "_PINNED", [])
    for name in ("_heap_mb", "_modules_seen", "_library_threads_seen"):
        monkeypatch.setattr(heap, name, getattr(heap, name))  # restored after the test


def _heap_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("export-heap")]


def test_warm_up_needs_no_database(fresh_heap, monkeypatch, settings):
    """Run without database access (pytest-django refuses any connection here): nothing is
    read, no connection or transaction is opened; the heap's threads have ended."""
    settings.EXPORT_WARM_MEMORY = True
    monkeypatch.setattr(exports, "WARM_MEMORY", {connection.vendor: (1, 2, 1)})
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    exports.warm_up()
    assert export_reader._COMPILED  # the queries of an export without filters
    assert heap.pinned() > 0
    assert _heap_threads() == []


def test_warm_up_grows_the_heap_by_the_databases_sizes_unless_turned_off(
    fresh_heap, monkeypatch, settings
):
    calls: list[tuple] = []
    monkeypatch.setattr(heap, "grow", lambda *sizes: calls.append(sizes))
    monkeypatch.setattr(exports, "WARM_MEMORY", {connection.vendor: (3, 2, 1)})
    settings.EXPORT_WARM_MEMORY = True
    exports.warm_up()
    assert calls == [(3, 2, 1)]
    settings.EXPORT_WARM_MEMORY = False
    exports.warm_up()
    assert calls == [(3, 2, 1)]  # not again
    settings.EXPORT_WARM_MEMORY = True
    monkeypatch.setattr(exports, "WARM_MEMORY", {})
    exports.warm_up()
    assert calls == [(3, 2, 1)]  # a database without sizes: nothing grown


def test_only_postgresql_grows_the_heap_ahead():
    """SQLite's first export takes about 10 MB: not worth as much in every worker."""
    small, heaps, per_heap = exports.WARM_MEMORY["postgresql"]
    assert heaps == 3  # the request's thread and the two readers
    assert small > 0 and per_heap > 0
    assert "sqlite" not in exports.WARM_MEMORY


def test_grow_keeps_a_few_objects_once_per_process(fresh_heap):
    heap.grow(2, 3, 1)
    # About two small objects per MiB arena of 448-byte blocks, and the top block of each of
    # the three threads' heaps (the threads ended).
    small = 2 * 1024 * 1024 // 448
    assert heap.pinned() == len(range(0, small, 1000)) + 3
    assert all(isinstance(pin, bytes) and len(pin) in (400, 4096) for pin in heap._PINNED)
    assert _heap_threads() == []
    heap.grow(2, 3, 1)
    assert heap.pinned() == len(range(0, small, 1000)) + 3  # nothing more


def test_heaps_are_grown_again_for_threads_a_library_started_and_kept(fresh_heap, monkeypatch):
    """After a request that imported modules and left threads of a C library running (the
    embedding stack's pools take a free heap each), as many heaps are grown again; nothing
    when no module was imported, or no such thread started."""
    library_threads = [2]
    monkeypatch.setattr(heap, "_library_threads", lambda: library_threads[0])
    grown: list[tuple[int, int]] = []
    monkeypatch.setattr(heap, "_thread_heaps", lambda count, mb: grown.append((count, mb)))
    heap.grow(1, 3, 5)
    assert grown == [(3, 5)]

    library_threads[0] = 5  # three started, but no module imported: not looked at
    heap.top_up(sender=None)
    assert grown == [(3, 5)]
    monkeypatch.setitem(sys.modules, "a_library_just_imported", sys)
    heap.top_up(sender=None)
    assert grown == [(3, 5), (3, 5)]
    monkeypatch.setitem(sys.modules, "another_one", sys)
    library_threads[0] = 4  # one ended: nothing to grow
    heap.top_up(sender=None)
    assert grown == [(3, 5), (3, 5)]


def test_top_up_does_nothing_before_grow(fresh_heap, monkeypatch):
    monkeypatch.setattr(heap, "_heap_mb", 0)
    monkeypatch.setattr(heap, "_thread_heaps", lambda count, mb: pytest.fail("grew"))
    monkeypatch.setitem(sys.modules, "a_library_just_imported", sys)
    heap.top_up(sender=None)


def test_library_threads_are_the_ones_python_did_not_start():
    started = threading.Event()
    stop = threading.Event()

    def python_thread() -> None:
        started.set()
        stop.wait()

    before = heap._library_threads()
    thread = threading.Thread(target=python_thread)
    thread.start()
    started.wait()
    try:
        assert heap._library_threads() == before  # a Python thread is not a library's
    finally:
        stop.set()
        thread.join()


def test_warm_up_tops_up_after_each_request_when_it_grew_heaps(fresh_heap, monkeypatch, settings):
    from django.core.signals import request_finished

    library_threads = [0]
    monkeypatch.setattr(heap, "_library_threads", lambda: library_threads[0])
    grown: list[tuple[int, int]] = []
    monkeypatch.setattr(heap, "_thread_heaps", lambda count, mb: grown.append((count, mb)))
    settings.EXPORT_WARM_MEMORY = True
    monkeypatch.setattr(exports, "WARM_MEMORY", {connection.vendor: (1, 1, 2)})
    exports.warm_up()
    assert grown == [(1, 2)]
    library_threads[0] = 2
    monkeypatch.setitem(sys.modules, "a_library_just_imported", sys)
    request_finished.send(sender=None)  # what Django sends once a response is closed
    assert grown == [(1, 2), (2, 2)]


def test_nothing_grows_for_zero_sizes(fresh_heap):
    heap.grow(0, 0, 0)
    assert heap._PINNED == []
    assert _heap_threads() == []


def _faults_of(grow: str) -> int:
    """Page faults while a fresh process allocates 6 MB of small objects and 3 MB in a new
    thread, after `grow` (Python code, or nothing)."""
    script = textwrap.dedent(
        f"""
        import importlib.util, resource, threading
        spec = importlib.util.spec_from_file_location("heap", {str(HEAP)!r})
        heap = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(heap)
        {grow}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        small = [bytes([n % 256]) * 200 for n in range(6 * 1024 * 1024 // 256)]
        def blocks():
            global large
            large = [b"x" * 3000 for _ in range(3 * 1024 * 1024 // 3000)]
        thread = threading.Thread(target=blocks)
        thread.start()
        thread.join()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return int(ran.stdout)


def test_the_grown_memory_is_what_the_next_objects_use():
    """What `grow` mapped is reused: a process that grew its heaps takes far fewer pages from
    the kernel for the same objects (small ones, and large ones in a new thread)."""
    cold = _faults_of("")
    warm = _faults_of("heap.grow(8, 1, 4)")
    assert cold > 1000  # (about 1,500 pages of 4 KiB)
    assert warm < cold / 10  # (a handful)
    assert resource.getpagesize() == 4096  # what the counts above assume


def _jsonl(team) -> bytes:
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"]})
    return b"".join(exports.stream(spec))


def test_an_export_after_warm_up_reads_the_database_as_it_is(
    team, fresh_heap, monkeypatch, settings
):
    """Nothing served stale: the export after `warm_up` equals one whose queries are compiled
    on the way, before and after the corpus changes."""
    settings.EXPORT_WARM_MEMORY = True
    monkeypatch.setattr(exports, "WARM_MEMORY", {connection.vendor: (1, 1, 1)})
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    claim = ClaimFactory(article=team.article, start=0, end=4)
    AnnotationFactory(claim=claim, annotator=team.annotator, note='"🙂"\n=1+1')
    exports.warm_up()
    warmed = _jsonl(team)
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    assert warmed == _jsonl(team)

    exports.warm_up()
    ArticleFactory(corpus=team.corpus, title="Later", text="Added after the warm-up.")
    claim.annotations.update(note="changed")
    after = _jsonl(team)
    assert after.count(b"\n") == warmed.count(b"\n") + 1
    assert b"Added after the warm-up." in after and b'"note":"changed"' in after
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    assert after == _jsonl(team)


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_the_wsgi_entry_point_warms_a_worker_without_touching_the_database(tmp_path, vendor):
    """Importing `annotator.wsgi`, as a gunicorn worker does: every view is imported (a first
    request imports nothing more), the export's queries are compiled and, on PostgreSQL, its
    memory is mapped; no database connection or transaction is open afterwards. The database
    is one that cannot be reached: a SQLite file that is never created, a PostgreSQL port where
    nothing listens."""
    database = tmp_path / "never.sqlite3"
    url = f"sqlite:///{database}" if vendor == "sqlite" else "postgres://nobody@127.0.0.1:9/none"
    script = textwrap.dedent(
        f"""
        import sys, threading
        import annotator.wsgi
        from django.db import connection, connections
        from articles.exports import heap, reader
        assert connection.vendor == {vendor!r}
        assert "articles.api.transfer" in sys.modules  # the export's view, from the URLconf
        assert reader._COMPILED
        assert (heap.pinned() > 0) == {vendor == "postgresql"}
        assert all(c.connection is None and not c.in_atomic_block for c in connections.all())
        assert [t.name for t in threading.enumerate()] == ["MainThread"]
        print("ok")
        """
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": "test-only-" + "x" * 40,
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "EXPORT_WARM_MEMORY": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ran = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "ok"
    assert not database.exists()
