"""Server-side CPU per request for bench/load.py: a gunicorn configuration file (`-c`).

With AA_REQUEST_TIMING set to a folder, its hooks time every request in the worker thread that
serves it, from gunicorn's `pre_request` to its `post_request` (the app, the middleware and the
writing of the response): the thread's own CPU time (`time.thread_time_ns`, which a busy machine
does not inflate the way it inflates wall time) and, on PostgreSQL, the CPU the request's
database backend used meanwhile (its `/proc/<pid>/schedstat`, in nanoseconds; the backend serves
this thread's connection only). Each request becomes one JSON line in
`<folder>/requests-<worker pid>.jsonl`, keyed by the resolved URL route name (and by the
client's `X-Load-Name` header when it sends one, as bench/locustfile.py does).

Without AA_REQUEST_TIMING this file defines no hook at all: gunicorn keeps its own no-op hooks.
It lives beside the benchmarks rather than in the app so that the same measurement runs on any
checkout (`load.py --reference`), including one from before it existed.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

OUTPUT = os.environ.get("AA_REQUEST_TIMING", "")
_CLOCK_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


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


class Recorder:
    """One worker's timings: the start of each thread's request, and the lines written."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.file = None

    def start(self) -> None:
        pid = database_backend_pid()
        db_start = backend_cpu_ns(pid) if pid else None
        self.local.start = (time.perf_counter_ns(), time.thread_time_ns(), pid, db_start)

    def finish(self, method: str, path: str, environ: dict, status: int | None) -> dict | None:
        cpu_end, wall_end = time.thread_time_ns(), time.perf_counter_ns()
        pid = database_backend_pid()
        db_end = backend_cpu_ns(pid) if pid else None
        start = getattr(self.local, "start", None)
        self.local.start = None
        if start is None:
            return None
        wall_start, cpu_start, pid_start, db_start = start
        if db_end is None:
            db_ns = None  # SQLite (in the thread's own time), or the connection closed
        elif pid == pid_start and db_start is not None:
            db_ns = db_end - db_start
        else:
            db_ns = db_end  # a backend started during the request: all of its life so far
        route = route_name(path)
        record = {
            "name": environ.get("HTTP_X_LOAD_NAME") or f"{method} {route}",
            "method": method,
            "route": route,
            "path": path + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""),
            "status": status,
            "cpu_ms": (cpu_end - cpu_start) / 1e6,
            "db_ms": None if db_ns is None else db_ns / 1e6,
            "wall_ms": (wall_end - wall_start) / 1e6,
        }
        line = json.dumps(record) + "\n"
        with self.lock:
            if self.file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.file = (self.folder / f"requests-{os.getpid()}.jsonl").open("a")
            self.file.write(line)
            self.file.flush()
        return record


if OUTPUT:
    _recorder = Recorder(OUTPUT)

    def pre_request(worker, req):  # noqa: ARG001 (gunicorn's hook signature)
        _recorder.start()

    def post_request(worker, req, environ, resp):  # noqa: ARG001
        path = environ.get("PATH_INFO") or req.path
        _recorder.finish(req.method, path, environ, getattr(resp, "status_code", None))


def read(folder: Path) -> list[dict]:
    """Every request recorded under `folder` (for load.py, after the server has stopped)."""
    records = []
    for path in sorted(folder.glob("requests-*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    return records
