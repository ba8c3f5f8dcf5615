"""Where a gunicorn worker's time goes, request by request: a gunicorn configuration file (`-c`;
for a script that starts gunicorn itself, through
`GUNICORN_CMD_ARGS="--config bench/worker_probe.py"`). bench/load.py, reads_ab.py, worker_age.py
and first_export.py start their servers with it.

With AA_WORKER_PROBE set to a folder, its hooks record every request a worker serves as one JSON
line in `<folder>/probe-<worker pid>.jsonl`, from gunicorn's `pre_request` to its `post_request`
(the app, the middleware and the response written), keyed by the resolved URL route name (and
by the client's `X-Load-Name` header when it sends one, as bench/locustfile.py does): the wall
time; the serving thread's CPU time (`time.thread_time_ns`, which a busy machine does not
inflate the way it inflates wall time) and the whole process's (its other threads: an export's
readers); on PostgreSQL, the CPU the request's database backend used meanwhile (its
`/proc/<pid>/schedstat`; the backend serves this thread's connection only); the time the thread
waited on a run queue for a CPU (`/proc/thread-self/schedstat`); the time its writes to the
socket blocked (gunicorn's `Response._emit_body`, timed); the time the cyclic garbage collector
ran and its collections by generation (`gc.callbacks`); the process's page faults, its RSS
before and after, the modules imported and the export queries compiled during the request. A
request that sends `X-Probe: heap` also gets, once its own times are taken, the objects the
collector tracks by generation and the sizes of per-process caches (`_caches()`); with
AA_WORKER_PROBE_TYPES set, the tracked objects counted by type as well. With AA_WORKER_PROBE_MAPS
set, every request also records the memory mappings whose resident size changed by more than
256 KiB during it (`/proc/self/smaps`: malloc's heaps, Python's arenas, other anonymous maps).

Without AA_WORKER_PROBE this file defines no hook: gunicorn keeps its own no-op hooks. It lives
beside the benchmarks rather than in the app so that the same measurement runs on any checkout
(`--reference`), including one from before it existed.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import threading
import time
from collections import Counter
from pathlib import Path

OUTPUT = os.environ.get("AA_WORKER_PROBE", "")
_CLOCK_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _faults() -> tuple[int, int]:
    """This process's minor and major page faults so far."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[7]), int(fields[9])


def _mappings() -> dict[str, tuple[int, int, str]]:
    """This process's memory mappings: start address -> (size KiB, resident KiB, name)."""
    found: dict[str, tuple[int, int, str]] = {}
    start = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            low, high = (int(x, 16) for x in head[0].split("-"))
            start = head[0].split("-")[0]
            found[start] = ((high - low) // 1024, 0, head[5] if len(head) > 5 else "")
        elif head[0] == "Rss:" and start:
            size, _, name = found[start]
            found[start] = (size, int(head[1]), name)
    return found


def _mappings_grown(before: dict, after: dict) -> list[dict]:
    """The mappings whose resident size changed by more than 256 KiB, largest change first."""
    changed = []
    for start, (size, rss, name) in after.items():
        grown = rss - before.get(start, (0, 0, ""))[1]
        if abs(grown) > 256:
            kind = name or (
                "64 MiB-aligned (a thread's malloc heap)"
                if int(start, 16) % (64 << 20) == 0
                else "anonymous"
            )
            changed.append(
                {
                    "start": start,
                    "size_kb": size,
                    "rss_kb": rss,
                    "grown_kb": grown,
                    "kind": kind,
                    "new": start not in before,
                }
            )
    return sorted(changed, key=lambda m: -abs(m["grown_kb"]))


def _waited_ns() -> int:
    """How long this thread has waited on a run queue for a CPU, so far (schedstat)."""
    try:
        return int(Path("/proc/thread-self/schedstat").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def backend_cpu_ns(pid: int) -> int | None:
    """CPU time a process has used so far: nanoseconds on CPU from schedstat, else the clock
    ticks of /proc/<pid>/stat (user + system). None when the process cannot be read."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * _CLOCK_TICK_NS
    except (OSError, ValueError, IndexError):
        return None


def database_backend_pid() -> int | None:
    """The PostgreSQL backend of this thread's open connection, if any (Django's connections
    are per thread; nothing is opened here)."""
    from django.db import connections

    connection = connections["default"]
    if connection.vendor != "postgresql" or connection.connection is None:
        return None
    try:
        return int(connection.connection.info.backend_pid)
    except Exception:  # noqa: BLE001 (a broken connection: no database share for this request)
        return None


def route_name(path: str) -> str:
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return "(no route)"
    return match.view_name or match.route


def _backend() -> tuple[int | None, int | None]:
    """This thread's PostgreSQL backend and its CPU so far (None, None: none open)."""
    pid = database_backend_pid()
    return pid, backend_cpu_ns(pid) if pid else None


def _compiled_count() -> int:
    """The export's compiled queries kept in this process (0 in a checkout without them)."""
    reader = sys.modules.get("articles.exports.reader")
    return len(getattr(reader, "_COMPILED", ()))


def _caches() -> dict[str, int]:
    """Sizes of per-process caches that could grow with the requests served."""
    sizes: dict[str, int] = {}
    try:
        from articles.exports import reader

        sizes["export_compiled"] = len(reader._COMPILED)
    except Exception:  # noqa: BLE001 (best effort: another checkout may lack it)
        pass
    try:
        from django.db import connections

        wrapper = connections["default"]
        sizes["db_queries_log"] = len(wrapper.queries_log)
        sizes["db_connection_open"] = int(wrapper.connection is not None)
    except Exception:  # noqa: BLE001
        pass
    return sizes


class Probe:
    """One worker's records; `close()` undoes what it hooked into (tests)."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.file = None
        self.gc_ns = 0
        self.gc_runs = [0, 0, 0]
        self._gc_started = 0
        self._emit_body = None
        self._time_sends()
        gc.callbacks.append(self._on_gc)

    def close(self) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._emit_body is not None:
            from gunicorn.http import wsgi

            wsgi.Response._emit_body = self._emit_body
        if self.file is not None:
            self.file.close()

    def _time_sends(self) -> None:
        """Time the response's writes to the socket (gunicorn's `Response._emit_body`): how
        long the thread was blocked on the connection."""
        from gunicorn.http import wsgi

        emit = self._emit_body = getattr(wsgi.Response, "_emit_body", None)
        if emit is None:  # an older gunicorn: no send times
            return
        local = self.local

        def timed(response, data):
            started = time.perf_counter_ns()
            try:
                return emit(response, data)
            finally:
                local.send_ns = getattr(local, "send_ns", 0) + time.perf_counter_ns() - started
                local.sends = getattr(local, "sends", 0) + 1

        wsgi.Response._emit_body = timed

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter_ns()
        else:
            self.gc_ns += time.perf_counter_ns() - self._gc_started
            self.gc_runs[info["generation"]] += 1

    def start(self) -> None:
        self.local.send_ns = self.local.sends = 0
        self.local.maps = _mappings() if os.environ.get("AA_WORKER_PROBE_MAPS") else None
        self.local.start = (
            time.perf_counter_ns(),
            time.thread_time_ns(),
            self.gc_ns,
            list(self.gc_runs),
            _faults(),
            _waited_ns(),
            time.process_time_ns(),
            resource.getrusage(resource.RUSAGE_SELF).ru_stime,
            _rss_kb(),
            len(sys.modules),
            _compiled_count(),
            *_backend(),
        )

    def finish(self, method: str, path: str, environ: dict, status: int | None) -> None:
        wall_end, cpu_end, gc_end = time.perf_counter_ns(), time.thread_time_ns(), self.gc_ns
        start = getattr(self.local, "start", None)
        self.local.start = None
        if start is None:
            return
        process_end = time.process_time_ns()
        system_end = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        (
            wall_start, cpu_start, gc_start, runs_start, faults_start, waited_start,
            process_start, system_start, rss_start, modules_start, compiled_start,
            pid_start, db_start,
        ) = start  # fmt: skip
        faults_end, waited_end = _faults(), _waited_ns()
        pid, db_end = _backend()
        if db_end is None:
            db_ns = None  # SQLite (in the thread's own time), or the connection closed
        elif pid == pid_start and db_start is not None:
            db_ns = db_end - db_start
        else:
            db_ns = db_end  # a backend started during the request: all of its life so far
        route = route_name(path)
        record = {
            "at": time.time(),
            "pid": os.getpid(),
            "name": environ.get("HTTP_X_LOAD_NAME") or f"{method} {route}",
            "method": method,
            "route": route,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "status": status,
            "wall_ms": (wall_end - wall_start) / 1e6,
            "cpu_ms": (cpu_end - cpu_start) / 1e6,
            "process_cpu_ms": (process_end - process_start) / 1e6,
            "system_cpu_ms": (system_end - system_start) * 1e3,  # the kernel's share (faults)
            "db_ms": None if db_ns is None else db_ns / 1e6,
            "gc_ms": (gc_end - gc_start) / 1e6,
            "gc_runs": [b - a for a, b in zip(runs_start, self.gc_runs, strict=True)],
            "gc_count": gc.get_count(),
            "runqueue_ms": (waited_end - waited_start) / 1e6,
            "send_ms": getattr(self.local, "send_ns", 0) / 1e6,
            "sends": getattr(self.local, "sends", 0),
            "minor_faults": faults_end[0] - faults_start[0],
            "major_faults": faults_end[1] - faults_start[1],
            "rss_kb_start": rss_start,
            "rss_kb_end": _rss_kb(),
            "modules_new": len(sys.modules) - modules_start,
            "compiled_new": _compiled_count() - compiled_start,
        }
        if getattr(self.local, "maps", None) is not None:
            record["mappings_grown"] = _mappings_grown(self.local.maps, _mappings())
            record["thread_heaps_before"] = [
                [start, size, rss]
                for start, (size, rss, name) in self.local.maps.items()
                if not name and int(start, 16) % (64 << 20) == 0
            ]
        if environ.get("HTTP_X_PROBE") == "heap":
            record["tracked"] = [len(gc.get_objects(generation)) for generation in range(3)]
            record["frozen"] = gc.get_freeze_count()
            record["rss_kb"] = _rss_kb()
            record["caches"] = _caches()
            record["threads"] = sorted(thread.name for thread in threading.enumerate())
            if os.environ.get("AA_WORKER_PROBE_TYPES"):
                kinds = Counter(type(o).__qualname__ for o in gc.get_objects())
                record["types"] = dict(kinds.most_common(400))
        line = json.dumps(record) + "\n"
        with self.lock:
            if self.file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.file = (self.folder / f"probe-{os.getpid()}.jsonl").open("a")
            self.file.write(line)
            self.file.flush()


if OUTPUT:
    _probe: Probe | None = None

    def post_worker_init(worker):  # noqa: ARG001 (gunicorn's hook signature)
        global _probe
        _probe = Probe(OUTPUT)

    def pre_request(worker, req):  # noqa: ARG001
        if _probe is not None:
            _probe.start()

    def post_request(worker, req, environ, resp):  # noqa: ARG001
        if _probe is not None:
            path = environ.get("PATH_INFO") or req.path
            _probe.finish(req.method, path, environ, getattr(resp, "status_code", None))


def read(folder: Path) -> list[dict]:
    """Every request recorded under `folder`, in the order they ended."""
    records = []
    for path in sorted(folder.glob("probe-*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    return sorted(records, key=lambda record: record["at"])
