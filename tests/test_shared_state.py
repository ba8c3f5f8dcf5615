"""Several processes, one set of limits: login lockouts and API throttles count every request
the app serves, whichever process serves it.

Two real `gunicorn` servers (one worker each, production settings, loopback only) run on this
test's database; requests alternate between them and the limit must come at the documented count
in total, not per process (per process, as with a local-memory cache, 35 wrong passwords got
through before the first 429 with four workers). The API throttle the same through Redis
(CACHE_URL=redis://…); and how the settings read CACHE_URL.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.cache import CacheHandler
from django.db import connection
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import AnonRateThrottle

from articles.models import ApiToken
from tests.factories import PASSWORD, UserFactory, fresh_throttle_window

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/0"
TOKEN_URL = "/api/v1/auth/token"
# README "Configuration": API_THROTTLE_TOKEN defaults to 10/minute, AXES_FAILURE_LIMIT to 5.
DOCUMENTED_TOKEN_LIMIT = 10
DOCUMENTED_LOGIN_FAILURES = 5
START_TIMEOUT = 60  # seconds for a server to answer; the test fails (servers stopped) past it


# --- Servers ---------------------------------------------------------------------------------


def _database_url() -> str:
    """This test's database (SQLite file or PostgreSQL test database) as a DATABASE_URL."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "localhost"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{settings['NAME']}"


def _server_env(static_root: Path, **extra: str) -> dict[str, str]:
    """Production settings on plain HTTP, on the test database; nothing inherited that would
    change the limits under test (a developer's CACHE_URL, throttle rates, axes settings)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "PYTEST", "API_THROTTLE_", "AXES_", "CACHE_URL"))
    }
    env.update(
        DATABASE_URL=_database_url(),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_HTTPS="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_STATIC_ROOT=str(static_root),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(
    port: int, method: str, path: str, *, body: dict | None = None, token: str = ""
) -> int:
    """One request on a fresh connection; returns the status."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group (master and worker), SIGKILL if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@contextlib.contextmanager
def _servers(env: dict[str, str], log_dir: Path, count: int = 2) -> Iterator[list[int]]:
    """`count` gunicorn servers (one worker each) on free loopback ports, ready on entry and
    always stopped on exit; yields their ports."""
    started: list[tuple[int, subprocess.Popen, Path]] = []
    try:
        for index in range(count):
            port = _free_port()
            log = log_dir / f"server-{index}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "annotator.wsgi",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "1",
                        "--graceful-timeout",
                        "5",
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append((port, process, log))
        deadline = time.monotonic() + START_TIMEOUT
        for port, process, log in started:
            while True:
                assert process.poll() is None, f"server exited at start:\n{log.read_text()}"
                with contextlib.suppress(OSError):
                    # Anonymous: refused before any throttle counts it, so the counts start at 0.
                    if _request(port, "GET", "/api/v1/corpora") == 401:
                        break
                assert time.monotonic() < deadline, f"no answer in time:\n{log.read_text()}"
                time.sleep(0.2)
        yield [port for port, _, _ in started]
    finally:
        for _, process, _ in started:
            _stop(process)


@pytest.fixture
def cache_env(request) -> Iterator[dict[str, str]]:
    """The shared cache the servers use: the default (a table in the test database, emptied
    before and after: flushing between tests does not reach it) or, when a test asks for
    "redis", Redis under a key prefix of this test's own (the counts expire there by
    themselves)."""
    if getattr(request, "param", "database") == "redis":
        yield {"CACHE_URL": f"{REDIS}?key_prefix=test-{uuid.uuid4().hex}"}
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM annotator_cache")
    yield {}
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM annotator_cache")


# --- Across two server processes -------------------------------------------------------------


def test_token_endpoint_limit_counts_requests_to_both_processes(cache_env, tmp_path):
    """Wrong passwords for ever new usernames (no lockout per user): the address gets the
    documented number of tries a minute in total, served half by each process."""
    attempts = DOCUMENTED_TOKEN_LIMIT + 4
    with _servers(_server_env(tmp_path, **cache_env), tmp_path) as ports:
        statuses = [
            _request(
                ports[i % 2],
                "POST",
                TOKEN_URL,
                body={"username": f"nobody{i}", "password": "guess"},
            )
            for i in range(attempts)
        ]
    assert statuses == [401] * DOCUMENTED_TOKEN_LIMIT + [429] * 4


def test_login_lockout_counts_failures_at_both_processes(cache_env, tmp_path):
    """One user's wrong passwords from one address, alternating between the processes: locked
    at the documented failure count, and then the right password is refused at either. (Axes
    counts in the database whatever the cache, so Redis would add nothing here.)"""
    UserFactory(username="anna")
    wrong = {"username": "anna", "password": "guess"}
    with _servers(_server_env(tmp_path, **cache_env), tmp_path) as ports:
        statuses = [
            _request(ports[i % 2], "POST", TOKEN_URL, body=wrong)
            for i in range(DOCUMENTED_LOGIN_FAILURES)
        ]
        right = {"username": "anna", "password": PASSWORD}
        after = [_request(port, "POST", TOKEN_URL, body=right) for port in ports]
    assert statuses == [401] * (DOCUMENTED_LOGIN_FAILURES - 1) + [429]
    assert after == [429, 429]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("cache_env", ["database", "redis"], indirect=True)
def test_api_throttle_counts_requests_to_both_processes(cache_env, tmp_path):
    """A user's API requests alternate between the processes: API_THROTTLE_USER=4/minute lets
    four through in total. Another user's count is their own."""
    _, key = ApiToken.objects.create(user=UserFactory(username="anna"))
    _, other_key = ApiToken.objects.create(user=UserFactory(username="victor"))
    env = _server_env(tmp_path, API_THROTTLE_USER="4/minute", **cache_env)
    with _servers(env, tmp_path) as ports:
        fresh_throttle_window(needed=20)
        statuses = [_request(ports[i % 2], "GET", "/api/v1/corpora", token=key) for i in range(7)]
        other = _request(ports[1], "GET", "/api/v1/corpora", token=other_key)
    assert statuses == [200] * 4 + [429] * 3
    assert other == 200


# --- Redis -----------------------------------------------------------------------------------


def _settings_caches(**env: str) -> dict:
    """settings.CACHES as a server process reads it from this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    clean.pop("CACHE_URL", None)
    clean.update(DJANGO_DEBUG="1", **env)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "import json; from django.conf import settings; "
            "print(json.dumps([settings.CACHES, settings.SESSION_ENGINE, settings.AXES_HANDLER]))",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    caches, sessions, axes = json.loads(result.stdout.strip().splitlines()[-1])
    # Sessions and lockouts live in the database whatever the cache.
    assert sessions == "django.contrib.sessions.backends.db"
    assert axes == "axes.handlers.database.AxesDatabaseHandler"
    return caches


def test_cache_url_names_the_shared_cache():
    assert _settings_caches()["default"] == {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "annotator_cache",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
    assert _settings_caches(CACHE_URL="")["default"]["LOCATION"] == "annotator_cache"
    redis = _settings_caches(CACHE_URL=f"{REDIS}?key_prefix=aa&timeout=60&socket_timeout=2")
    assert redis["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS,
        "KEY_PREFIX": "aa",  # upper case: Django ignores django-environ's lower-cased names
        "TIMEOUT": 60,
        "OPTIONS": {"socket_timeout": 2},
    }


def _throttle_verdicts(caches: list, *, address: str, count: int) -> list[bool]:
    """`count` anonymous requests from one address, each judged by a fresh 4/minute throttle
    counting in the next of `caches` in turn (as if served by that many processes)."""
    factory = APIRequestFactory()
    verdicts = []
    for i in range(count):
        throttle = AnonRateThrottle()
        throttle.rate = "4/minute"
        throttle.num_requests, throttle.duration = throttle.parse_rate(throttle.rate)
        throttle.cache = caches[i % len(caches)]
        request = Request(factory.get("/api/v1/corpora", REMOTE_ADDR=address))
        verdicts.append(throttle.allow_request(request, view=None))
    return verdicts


def test_a_throttle_count_is_shared_through_redis():
    """Two Redis cache backends, each with its own connections (two processes' worth), built
    from what the settings make of a redis:// CACHE_URL: the count is one. Two local-memory
    caches, as each process had before, count apart: twice the limit gets through."""
    prefix = f"test-{uuid.uuid4().hex}"
    config = _settings_caches(CACHE_URL=f"{REDIS}?key_prefix={prefix}")["default"]
    shared = [CacheHandler({"default": config})["default"] for _ in range(2)]
    assert shared[0] is not shared[1]
    assert _throttle_verdicts(shared, address="192.0.2.7", count=7) == [True] * 4 + [False] * 3

    apart = [
        CacheHandler(
            {
                "default": {
                    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": name,
                }
            }
        )["default"]
        for name in (f"{prefix}-1", f"{prefix}-2")
    ]
    assert _throttle_verdicts(apart, address="192.0.2.7", count=10) == [True] * 8 + [False] * 2
