"""bench/worker_probe.py: gunicorn hooks that record where a worker's time goes, request by
request (the server's CPU per request for load.py and reads_ab.py among it), when
AA_WORKER_PROBE names a folder, and define nothing at all when it is unset."""

import gc
import importlib.util
import os
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from gunicorn.http import wsgi

HOOKS = Path(__file__).resolve().parent.parent / "bench" / "worker_probe.py"


def load_hooks(monkeypatch, folder: Path | None):
    """The configuration file as gunicorn reads it, in a fresh module each time."""
    if folder is None:
        monkeypatch.delenv("AA_WORKER_PROBE", raising=False)
    else:
        monkeypatch.setenv("AA_WORKER_PROBE", str(folder))
    spec = importlib.util.spec_from_file_location("worker_probe_under_test", HOOKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def probe_hooks(monkeypatch, tmp_path):
    hooks = load_hooks(monkeypatch, tmp_path)
    emit, callbacks = wsgi.Response._emit_body, list(gc.callbacks)
    hooks.post_worker_init(None)
    yield hooks
    hooks._probe.close()
    assert wsgi.Response._emit_body is emit and gc.callbacks == callbacks  # all undone


def serve(client, hooks, path: str, probe: str | None = None, name: str | None = None):
    """One request between gunicorn's two hooks, as a gthread worker runs it."""
    request = SimpleNamespace(method="GET", path=path)
    hooks.pre_request(None, request)
    response = client.get(path)
    gc.collect(0)  # one collection inside the request
    environ = {
        "PATH_INFO": path,
        **({"HTTP_X_PROBE": probe} if probe else {}),
        **({"HTTP_X_LOAD_NAME": name} if name else {}),
    }
    hooks.post_request(None, request, environ, SimpleNamespace(status_code=response.status_code))
    return response


def test_each_request_is_one_line_with_its_times(team, client, probe_hooks, tmp_path):
    client.force_login(team.annotator)
    assert serve(client, probe_hooks, "/", name="/ (dashboard)").status_code == 200
    assert (
        serve(client, probe_hooks, f"/corpora/{team.corpus.slug}/", probe="heap").status_code == 200
    )

    assert [f.name for f in tmp_path.glob("probe-*.jsonl")] == [f"probe-{os.getpid()}.jsonl"]
    first, second = probe_hooks.read(tmp_path)
    assert (first["method"], first["path"], first["status"]) == ("GET", "/", 200)
    assert (first["name"], first["route"]) == ("/ (dashboard)", "home")
    # without the client's name, the method and the resolved route name the request
    assert (second["name"], second["route"]) == ("GET corpus", "corpus")
    for record in (first, second):
        assert record["cpu_ms"] > 0
        assert record["process_cpu_ms"] >= record["cpu_ms"] * 0.5  # every thread's, this one's
        assert record["system_cpu_ms"] >= 0
        assert record["wall_ms"] >= record["cpu_ms"] * 0.5  # the same request, another clock
        if connection.vendor == "postgresql":  # the backend's share, read from /proc
            assert record["db_ms"] is not None and record["db_ms"] >= 0
        else:  # SQLite runs in the thread: its time is in cpu_ms
            assert record["db_ms"] is None
        assert record["rss_kb_start"] > 0 and record["rss_kb_end"] > 0
        assert record["modules_new"] >= 0 and record["compiled_new"] >= 0
        assert record["gc_runs"][0] >= 1 and record["gc_ms"] > 0
        assert record["runqueue_ms"] >= 0 and record["minor_faults"] >= 0
        assert record["send_ms"] == 0 and record["sends"] == 0  # the test client has no socket
    assert "tracked" not in first  # only when asked: counting the heap takes time
    assert len(second["tracked"]) == 3 and sum(second["tracked"]) > 1000
    assert second["rss_kb"] > 0 and "export_compiled" in second["caches"]


def test_the_responses_writes_to_the_socket_are_timed(probe_hooks, tmp_path):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        response = SimpleNamespace(sock=ours, chunked=False)
        request = SimpleNamespace(method="GET", path="/export")
        probe_hooks.pre_request(None, request)
        wsgi.Response._emit_body(response, b"x" * 1000)
        wsgi.Response._emit_body(response, b"y" * 1000)
        probe_hooks.post_request(None, request, {"PATH_INFO": "/export"}, None)
        assert theirs.recv(2000, socket.MSG_WAITALL) == b"x" * 1000 + b"y" * 1000
    (record,) = probe_hooks.read(tmp_path)
    assert record["sends"] == 2 and record["send_ms"] > 0


def test_off_defines_no_hook_and_writes_nothing(team, client, tmp_path, monkeypatch):
    hooks = load_hooks(monkeypatch, None)
    for hook in ("post_worker_init", "pre_request", "post_request"):
        assert not hasattr(hooks, hook)  # gunicorn keeps its own no-op hooks
    client.force_login(team.annotator)
    assert client.get("/").status_code == 200
    assert list(tmp_path.iterdir()) == []
    assert hooks.read(tmp_path) == []


def test_a_finish_without_a_start_records_nothing(probe_hooks, tmp_path):
    # post_request without pre_request (gunicorn failed before the app)
    probe_hooks.post_request(None, SimpleNamespace(method="GET", path="/"), {}, None)
    assert probe_hooks.read(tmp_path) == []


def test_a_path_without_a_route(probe_hooks, db):
    assert probe_hooks.route_name("/no/such/page") == "(no route)"


def test_backend_cpu_reads_a_live_process_and_not_a_missing_one(probe_hooks):
    assert probe_hooks.backend_cpu_ns(os.getpid()) > 0
    assert probe_hooks.backend_cpu_ns(2**22 + 12345) is None  # above the kernel's pid_max


def test_an_export_records_the_queries_it_compiled(
    team, client, probe_hooks, tmp_path, monkeypatch
):
    """A request that compiles export queries (none compiled yet in the process) counts them."""
    from articles.exports import reader

    monkeypatch.setattr(reader, "_COMPILED", {})
    client.force_login(team.owner)
    path = f"/api/v1/corpora/{team.corpus.slug}/export"
    request = SimpleNamespace(method="GET", path=path)
    probe_hooks.pre_request(None, request)
    response = client.get(path, {"format": "jsonl", "annotator": [team.annotator.username]})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    environ = {"PATH_INFO": path, "QUERY_STRING": "format=jsonl"}
    probe_hooks.post_request(None, request, environ, response)
    (record,) = probe_hooks.read(tmp_path)
    assert record["route"] == "api-corpus-export" and record["query"] == "format=jsonl"
    assert record["compiled_new"] >= 1
