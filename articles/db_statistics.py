"""Planner statistics refreshed after bulk writes, without relying on autovacuum.

A bulk import can multiply a table's rows in one transaction. Until the database's statistics
catch up, its planner judges the new rows by the old numbers and may pick a poor plan (an index
on `deleted_at` instead of the article's: seconds instead of milliseconds for a corpus page).
PostgreSQL's autovacuum would analyse the tables eventually, but it may be off or late; SQLite
never analyses unless told. So the import does it itself once it has committed: each table it
wrote more rows to than autovacuum's own threshold (50 rows + 10 % of the rows the statistics
counted) is analysed; on SQLite with `PRAGMA analysis_limit`, a sample per index, a few
milliseconds however large the table.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.apps import apps
from django.db import connection

SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index


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
    rows = {
        apps.get_model("articles", name)._meta.db_table: n for name, n in written.items() if n > 0
    }
    if not rows:
        return []
    counted = _counted_rows(list(rows))
    stale = [table for table, n in rows.items() if n > _threshold(counted[table])]
    if not stale:
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(quote(table) for table in stale))
        else:
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            for table in stale:
                cursor.execute(f"ANALYZE {quote(table)}")
    return stale
