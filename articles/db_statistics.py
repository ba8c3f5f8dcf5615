"""Planner statistics refreshed after bulk writes, without relying on autovacuum.

A bulk import can multiply a table's rows in one transaction. Until the database's statistics
catch up, its planner judges the new rows by the old numbers and may pick a poor plan (an index
on `deleted_at` instead of the article's: seconds instead of milliseconds for a corpus page).
PostgreSQL's autovacuum would analyse the tables eventually, but it may be off or late; SQLite
never analyses unless told. So the import does it itself once it has committed: each table it
wrote more rows to than autovacuum's own threshold (50 rows + 10 % of the rows the statistics
counted) is analysed; on SQLite with `PRAGMA analysis_limit`, a sample per index, a few
milliseconds however large the table.

On PostgreSQL the free text is left out (text, JSON, and strings without choices, unless an
index holds them: a claim's exact, prefix, suffix, summary and labels, an article's text and
title). Its statistics are most of ANALYZE's cost, sorting 30,000 sampled strings each (the
claims table: 0.3-0.45 s in all at 60,000 claims, 0.12-0.2 s without them; bench/README.md,
"The import with spans"), and the reads filter, join and sort on the other columns; whatever
statistics the free text had before stay. The sample is PG_STATISTICS_TARGET's (300 rows per
unit: 9,000 rows, not the default 30,000): what the reads plan by (the share of NULLs, the number
of distinct articles, claims or users, the few values of a status) holds at that size, and
reading the sample was most of what was left (the claims at 60,000 rows: 300 ms sampled by
100, 75 ms by 30, on a loaded machine; bench/README.md). Autovacuum, where it runs, analyses
again with the database's own target later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from django.apps import apps
from django.db import connection, connections, models, transaction

logger = logging.getLogger(__name__)

SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index
PG_STATISTICS_TARGET = 30  # PostgreSQL's default_statistics_target for the import's ANALYZE


def _threshold(rows_counted: float) -> float:
    return 50 + 0.1 * max(rows_counted, 0)


def _counted_rows(tables: list[str]) -> dict[str, float]:
    """The rows each table had when its statistics were last gathered (0: never)."""
    counted = dict.fromkeys(tables, 0.0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                [tables],
            )
            counted.update({name: float(rows) for name, rows in cursor.fetchall()})
        else:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return counted
            marks = ", ".join("%s" for _ in tables)
            query = f"SELECT tbl, stat FROM sqlite_stat1 WHERE tbl IN ({marks})"  # noqa: S608
            cursor.execute(query, tables)
            for name, stat in cursor.fetchall():
                rows = float((stat or "0").split()[0])
                counted[name] = max(counted[name], rows)
    return counted


def refresh(written: Mapping[str, int]) -> list[str]:
    """Analyse the tables of the `articles` models in `written` ({model name: rows written})
    that the write outdated; returns the tables analysed."""
    if connection.vendor not in ("postgresql", "sqlite"):
        return []
    grown = {apps.get_model("articles", name): n for name, n in written.items() if n > 0}
    rows = {model._meta.db_table: n for model, n in grown.items()}
    if not rows:
        return []
    counted = _counted_rows(list(rows))
    stale = [table for table, n in rows.items() if n > _threshold(counted[table])]
    if not stale:
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with transaction.atomic():
                # A smaller sample (the setting is local to this transaction).
                cursor.execute(f"SET LOCAL default_statistics_target = {PG_STATISTICS_TARGET}")
                cursor.execute(
                    "ANALYZE "
                    + ", ".join(
                        f"{quote(model._meta.db_table)} ({', '.join(_planned_columns(model))})"
                        for model in grown
                        if model._meta.db_table in stale
                    )
                )
        else:
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            for table in stale:
                cursor.execute(f"ANALYZE {quote(table)}")
    return stale


def _planned_columns(model) -> list[str]:
    """The model's columns but its free text (text, JSON, or a string without choices) unless
    an index holds it, quoted."""
    opts = model._meta
    indexed = {name.lstrip("-") for index in opts.indexes for name in index.fields}
    indexed |= {
        name for constraint in opts.constraints for name in getattr(constraint, "fields", ())
    }
    quote = connection.ops.quote_name
    return [
        quote(str(field.column))
        for field in opts.concrete_fields
        if field.db_index
        or field.unique
        or field.name in indexed
        or not (
            isinstance(field, models.TextField | models.JSONField)
            or (isinstance(field, models.CharField) and not field.choices)
        )
    ]


class AfterResponse:
    """Refreshes asked for inside `after_response`, run once a response has been sent."""

    def __init__(self) -> None:
        self.pending: list[dict[str, int]] = []

    def attach(self, response) -> None:
        """Start the pending refreshes when `response` is closed (the WSGI server closes it
        after sending its body)."""
        if self.pending:
            response._resource_closers.append(self.run)

    def run(self) -> None:
        """The refreshes, in a thread on a connection of its own: the worker goes on to its
        next request at once (a client keeping its connection open sends it to the same worker,
        which would otherwise wait for ANALYZE). The data is committed: any connection sees it.
        """
        global last_refresh
        pending, self.pending = self.pending, []
        last_refresh = threading.Thread(
            target=_refresh_all, args=(pending,), name="statistics-refresh"
        )
        last_refresh.start()


def _refresh_all(pending: list[dict[str, int]]) -> None:
    try:
        for written in pending:
            refresh(written)
    except Exception:  # the answer is sent: autovacuum, or the next import, catches up
        logger.exception("The statistics refresh after a response failed.")
    finally:
        connections.close_all()  # this thread's own


# The last refresh thread started (tests wait for it).
last_refresh: threading.Thread | None = None
_after: ContextVar[AfterResponse | None] = ContextVar("db_statistics_after", default=None)


@contextmanager
def after_response() -> Iterator[AfterResponse]:
    """Inside, `refresh_soon` keeps a refresh on PostgreSQL for after the response
    (AfterResponse.attach) instead of running it at once: a view whose answer does not depend
    on it (the import's ids and counts) need not make its client wait for ANALYZE (0.05-0.15 s
    after an import of 1,000 documents; bench/README.md). SQLite's takes a few milliseconds and
    its write lock: it runs at once."""
    later = AfterResponse()
    token = _after.set(later)
    try:
        yield later
    finally:
        _after.reset(token)


def refresh_soon(written: Mapping[str, int]) -> None:
    """`refresh(written)` now, or after the response inside `after_response` (PostgreSQL)."""
    later = _after.get()
    if later is None or connection.vendor != "postgresql":
        refresh(written)
    else:
        later.pending.append(dict(written))
