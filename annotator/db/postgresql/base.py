"""Django's PostgreSQL backend with two changes for the cost of a short request
(bench/README.md, "One document, and the fixed cost of a request"):

- **The health check asks the server nothing.** With CONN_HEALTH_CHECKS, Django checks a reused
  connection at the first query of every request with `SELECT 1`, a round trip. An idle
  connection has nothing to read: when its socket is readable, the server has closed it or sent
  a termination notice (a restart, `pg_terminate_backend`), so it is unusable and Django opens
  a new one, as after a failed `SELECT 1`.
- **Timestamps parsed by psycopg's C loader.** Django registers its own loader for
  `timestamptz` (psycopg's, then the connection's time zone set on the value), a subclass of
  psycopg's pure-Python one: 15-20 µs a value on this machine against under 1 µs in C, and a
  document read loads some 90 of them. `TzLoader` is Django's with the parsing done by the
  loader psycopg itself would use (its C one when installed): the same values.
- **Server-side prepared statements, where asked for.** Django turns psycopg's prepared
  statements off. For the short reads every request makes (articles/prepared.py), planning the
  query was most of its time (the document's claims joined to their annotations: 1.1 ms of
  planning for 0.2 ms of execution), so `prepared_cursor()` gives a cursor whose statements are
  prepared once per connection. Nothing else is prepared. `OPTIONS["prepare_threshold"] = None`
  (DATABASE_PREPARED_STATEMENTS=0, e.g. behind a connection pooler that cannot keep them)
  turns them off entirely.
"""

from __future__ import annotations

import functools
import select
import sys
from datetime import tzinfo
from typing import Any

import psycopg
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapt, pq
from psycopg.types.datetime import TimestamptzLoader

# While a PreparingCursor runs a statement, psycopg's threshold (the executions after which it
# prepares a query by itself): one no count reaches, so only what is asked for is prepared.
ONLY_WHEN_ASKED = sys.maxsize


class PreparingCursor(base.ServerBindingCursor):
    """A server-binding cursor whose every statement is prepared (once per connection and
    statement: psycopg keeps the names).

    Outside its `execute` the connection keeps Django's threshold, None (no preparing): with
    any other value psycopg also counts every statement Django sends, keeping the text of the
    last hundred (a bulk insert's text can run to megabytes) for nothing."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs):
        connection = self.connection  # type: ignore[attr-defined]
        before = connection.prepare_threshold
        connection.prepare_threshold = ONLY_WHEN_ASKED if before is None else before
        try:
            # (django-stubs describe this class without psycopg's Cursor under it)
            return super().execute(query, params, prepare=True, **kwargs)  # type: ignore[misc]
        finally:
            connection.prepare_threshold = before


# psycopg's own timestamptz loader, its C one when psycopg's binary or C package is installed
# (psycopg.adapters, unlike Django's connections, keeps it).
_PSYCOPG_TZ_LOADER = (
    psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, pq.Format.TEXT)
    or TimestamptzLoader
)


class TzLoader(BaseTzLoader):
    """Django's timestamptz loader (psycopg's parsing, then `timezone` set on the value, None
    dropping it), parsing with `_PSYCOPG_TZ_LOADER`."""

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._parse = _PSYCOPG_TZ_LOADER(oid, context).load

    def load(self, data: Any) -> Any:
        return self._parse(data).replace(tzinfo=self.timezone)


@functools.lru_cache
def _adapters(template: adapt.AdaptersMap, zone: tzinfo | None) -> adapt.AdaptersMap:
    """Django's adapters for a connection (`template`), with TzLoader for `zone`."""
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader(
        "timestamptz", type("SpecificTzLoader", (TzLoader,), {"timezone": zone})
    )
    return adapters


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        # The query as logged (DEBUG, tests' captured queries): psycopg keeps no text for a
        # prepared statement's execution, so it is composed here as a client-side cursor would.
        if isinstance(cursor, PreparingCursor):
            return self.compose_sql(sql, params)
        return super().last_executed_query(cursor, sql, params)


_USABLE_STATES = frozenset({pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS})
_WAITING = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections opened beside this one (an import's, articles/side.py),
        # closed with it.
        self.closing_with: list[Any] = []

    def _close(self) -> None:
        for side in self.closing_with:
            side.close()
        super()._close()  # type: ignore[misc]

    def connect_beside(self, **parameters: Any) -> psycopg.Connection:
        """A new connection to this database, in autocommit, that Django does not manage (an
        export's second reader, an import's side connection): the same parameters and adapters
        as Django's own (`parameters` added, e.g. an `application_name`), and the same role
        (OPTIONS["assume_role"])."""
        given = {**self.get_connection_params(), **parameters}
        connection = self.Database.connect(**given, autocommit=True)
        try:
            self._configure_role(connection)  # type: ignore[attr-defined]
        except BaseException:
            connection.close()
            raise
        return connection

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if "context" in params:  # Django's adapters, with its timestamptz loader for our zone
            params["context"] = _adapters(params["context"], self.timezone)
        return params

    @property
    def prepares_statements(self) -> bool:
        """Unless OPTIONS["prepare_threshold"] is None (DATABASE_PREPARED_STATEMENTS=0)."""
        return self.settings_dict["OPTIONS"].get("prepare_threshold", ONLY_WHEN_ASKED) is not None

    def prepared_cursor(self):
        """A cursor (Django's wrapper: logged, errors translated) whose statements the server
        keeps prepared; the ordinary cursor when prepared statements are off."""
        if not self.prepares_statements:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparingCursor(self.connection)  # type: ignore[call-arg]
            return self._prepare_cursor(cursor)  # type: ignore[attr-defined]

    def is_usable(self) -> bool:
        return self.connection is not None and quiet(self.connection, _USABLE_STATES)


def quiet(connection: psycopg.Connection, states: frozenset) -> bool:
    """Whether an idle connection can be used: open, in one of the transaction `states`, and
    with nothing from the server waiting to be read (between uses the server has nothing to
    say: anything waiting is its goodbye, a restart or a terminated backend)."""
    if connection.closed or connection.broken:
        return False
    pgconn = connection.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status not in states:
        return False
    try:
        poller = select.poll()
        poller.register(pgconn.socket, _WAITING)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg.Error):
        return False
