"""bench/request_timing.py: gunicorn hooks that record the server's CPU per request when
AA_REQUEST_TIMING names a folder, and define nothing at all when it is unset."""

import importlib.util
import json
import os
from pathlib import Path
from types import SimpleNamespace

from django.db import connection

HOOKS = Path(__file__).resolve().parent.parent / "bench" / "request_timing.py"


def load_hooks(monkeypatch, folder: Path | None):
    """The configuration file as gunicorn reads it, in a fresh module each time."""
    if folder is None:
        monkeypatch.delenv("AA_REQUEST_TIMING", raising=False)
    else:
        monkeypatch.setenv("AA_REQUEST_TIMING", str(folder))
    spec = importlib.util.spec_from_file_location("request_timing_under_test", HOOKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(client, hooks, path: str, name: str | None = None):
    """One request between gunicorn's two hooks, as a gthread worker runs it."""
    request = SimpleNamespace(method="GET", path=path)
    hooks.pre_request(None, request)
    response = client.get(path)
    environ = {"PATH_INFO": path, **({"HTTP_X_LOAD_NAME": name} if name else {})}
    hooks.post_request(None, request, environ, SimpleNamespace(status_code=response.status_code))
    return response


def test_on_each_request_is_one_line_with_its_route_and_cpu(team, client, tmp_path, monkeypatch):
    hooks = load_hooks(monkeypatch, tmp_path)
    client.force_login(team.annotator)
    assert serve(client, hooks, "/", name="/ (dashboard)").status_code == 200
    assert serve(client, hooks, f"/corpora/{team.corpus.slug}/").status_code == 200

    files = list(tmp_path.glob("requests-*.jsonl"))
    assert [f.name for f in files] == [f"requests-{os.getpid()}.jsonl"]
    first, second = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert (first["name"], first["method"], first["route"], first["status"]) == (
        "/ (dashboard)",
        "GET",
        "home",
        200,
    )
    # without the client's name, the method and the resolved route name the request
    assert (second["name"], second["route"]) == ("GET corpus", "corpus")
    for record in (first, second):
        assert record["cpu_ms"] > 0
        assert record["wall_ms"] >= record["cpu_ms"] * 0.5  # the same request, another clock
        if connection.vendor == "postgresql":  # the backend's share, read from /proc
            assert record["db_ms"] is not None and record["db_ms"] >= 0
        else:  # SQLite runs in the thread: its time is in cpu_ms
            assert record["db_ms"] is None
    assert hooks.read(tmp_path) == [first, second]


def test_off_defines_no_hook_and_writes_nothing(team, client, tmp_path, monkeypatch):
    hooks = load_hooks(monkeypatch, None)
    assert not hasattr(hooks, "pre_request")
    assert not hasattr(hooks, "post_request")  # gunicorn keeps its own no-op hooks
    client.force_login(team.annotator)
    assert client.get("/").status_code == 200
    assert list(tmp_path.iterdir()) == []
    assert hooks.read(tmp_path) == []


def test_a_path_without_a_route_and_a_finish_without_a_start(tmp_path, monkeypatch, db):
    hooks = load_hooks(monkeypatch, tmp_path)
    assert hooks.route_name("/no/such/page") == "(no route)"
    # post_request without pre_request (gunicorn failed before the app): nothing recorded
    hooks.post_request(None, SimpleNamespace(method="GET", path="/"), {}, None)
    assert hooks.read(tmp_path) == []


def test_backend_cpu_reads_a_live_process_and_not_a_missing_one(monkeypatch, tmp_path):
    hooks = load_hooks(monkeypatch, tmp_path)
    assert hooks.backend_cpu_ns(os.getpid()) > 0
    assert hooks.backend_cpu_ns(2**22 + 12345) is None  # above the kernel's pid_max
