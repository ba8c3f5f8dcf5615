"""Heavy reads on a streaming replica (DATABASE_REPLICA_URL), with read-your-writes.

- `ReplicaRouter` (DATABASE_ROUTERS when a replica is configured): reads go where the current
  request or job chose (`reads_from`), by default the primary; writes, migrations and the cache
  table always go to the primary.
- `ReplicaReadsMiddleware`: a GET of a heavy page or API list (exports, agreement, search,
  lists: `HEAVY_READS`) reads from the replica, unless the same client wrote within
  `REPLICA_READ_YOUR_WRITES_SECONDS`: a browser by a cookie set on its writes, an API client
  by its token's mark in the shared cache (both set here, on every non-GET request that
  succeeded). Everything else reads from the primary, as without a replica.
- Background export jobs read from the replica once it has replayed the write-ahead log up to
  where the primary was when the job was asked for (`wal_position`, `replica_caught_up`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
WROTE_COOKIE = "aa_wrote"

# The database alias this request or job reads from (None: the primary).
_reads_from: ContextVar[str | None] = ContextVar("reads_from", default=None)

# GETs whose reads may come from the replica: exports, agreement, search and lists.
HEAVY_READS = frozenset(
    {
        "api-corpus-export",
        "api-corpus-agreement",
        "corpus-agreement",
        "api-corpora",
        "api-articles",
        "api-claims",
        "api-annotations",
        "api-assignments",
        "corpus",  # the article list and its search
        "corpus-review",
        "corpus-audit",
    }
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES and REPLICA in getattr(settings, "REPLICA_ALIASES", ())


@contextmanager
def reads_from(alias: str | None) -> Iterator[None]:
    """Reads inside the block go to `alias` (None or "default": the primary)."""
    token = _reads_from.set(alias)
    try:
        yield
    finally:
        _reads_from.reset(token)


def read_alias() -> str:
    return _reads_from.get() or DEFAULT_DB_ALIAS


# Read from the primary always: the cache table (throttle counts are read where they are
# written), sessions, sign-in and tokens (a key just created must work at once), login lockouts,
# and the jobs and their queue (a worker claims with what it reads).
PRIMARY_APPS = frozenset({"django_cache", "sessions", "auth", "axes", "knox", "django_tasks_db"})
PRIMARY_MODELS = frozenset({"apitoken", "job"})


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        meta = model._meta
        if meta.app_label in PRIMARY_APPS or meta.model_name in PRIMARY_MODELS:
            return DEFAULT_DB_ALIAS
        return _reads_from.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


# --- Read-your-writes ------------------------------------------------------------------------


def _token_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    return "wrote:" + hashlib.sha256(header.encode()).hexdigest()[:32]


def recently_wrote(request: HttpRequest) -> bool:
    window = settings.REPLICA_READ_YOUR_WRITES_SECONDS
    try:
        if time.time() - float(request.COOKIES.get(WROTE_COOKIE, "0")) < window:
            return True
    except ValueError:
        pass
    key = _token_key(request)
    return key is not None and cache.get(key) is not None


def _mark_write(request: HttpRequest, response: HttpResponse) -> None:
    window = settings.REPLICA_READ_YOUR_WRITES_SECONDS
    response.set_cookie(
        WROTE_COOKIE,
        f"{time.time():.3f}",
        max_age=int(window) + 1,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    key = _token_key(request)
    if key is not None:
        cache.set(key, 1, timeout=window)


class ReplicaReadsMiddleware:
    """Chooses the database a request reads from (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.enabled = replica_configured()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.enabled:
            return self.get_response(request)
        token = _reads_from.set(None)  # every request starts on the primary
        try:
            response = self.get_response(request)
        finally:
            _reads_from.reset(token)
        if request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400:
            _mark_write(request, response)
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        if not self.enabled or request.method not in ("GET", "HEAD"):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in HEAVY_READS and not recently_wrote(request):
            _reads_from.set(REPLICA)  # until the end of this request (reset in __call__)
        return None


# --- Background jobs: the replica once it has caught up ------------------------------------------


def wal_position() -> str | None:
    """Where the primary's write-ahead log is now (PostgreSQL with a replica), else None."""
    if not replica_configured() or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return None
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def replica_caught_up(position: str | None, *, wait: float = 5.0) -> bool:
    """Whether the replica has replayed up to `position` (waiting up to `wait` seconds)."""
    if position is None or not replica_configured():
        return False
    deadline = time.monotonic() + wait
    while True:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
            row = cursor.fetchone()
        if row and row[0]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
