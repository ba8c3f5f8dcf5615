"""Many new rows of one model written fast, inside the import's transaction.

Django's bulk_create compiles every value of every row through the ORM, which was most of an
import's time (bench/README.md, "Workload": the profile). Here the model's columns are named
once, each value converted by one function chosen per column, and the rows sent in one stream:
PostgreSQL's COPY (psycopg's `copy`, ids drawn from the table's sequence first), SQLite's
executemany (ids following the table's AUTOINCREMENT counter; SQLite has one writer at a time and
the import holds the write lock). The instances get their ids, as bulk_create gives them.
The database still checks every constraint (foreign keys at commit, as for bulk_create).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _converter(field: models.Field) -> Convert:
    ops = connection.ops
    if isinstance(field, models.JSONField):
        return _json
    if isinstance(field, models.DateTimeField):
        return _identity if connection.vendor == "postgresql" else ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return _identity if connection.vendor == "postgresql" else ops.adapt_datefield_value
    return _identity


def supported() -> bool:
    return connection.vendor in ("postgresql", "sqlite")


def insert(objs: Sequence[models.Model]) -> None:
    """INSERT `objs` (new instances of one model, with their field values set) and set their
    ids; falls back to bulk_create on other databases."""
    if not objs:
        return
    model = type(objs[0])
    if not supported():
        model._default_manager.bulk_create(objs, batch_size=1000)
        return
    opts = model._meta
    pk = opts.pk
    assert pk is not None
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    now = timezone.now()
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    plain = [f for f in fields if f not in stamped]
    convert = [(f.attname, _converter(f)) for f in plain]
    # Every row gets the same time, converted once (defaults were set with the instances).
    stamps = [_converter(f)(now) for f in stamped]
    for obj in objs:
        for field in stamped:
            setattr(obj, field.attname, now)
    columns_of = [pk.column, *(f.column for f in plain), *(f.column for f in stamped)]
    assert all(columns_of), "every concrete field has a column"
    ids = _reserve_ids(opts.db_table, str(pk.column), len(objs))
    rows = [
        [pk_value, *[fn(getattr(obj, name)) for name, fn in convert], *stamps]
        for pk_value, obj in zip(ids, objs, strict=True)
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(c)) for c in columns_of)
    table = quote(opts.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("%s" for _ in range(len(fields) + 1))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names quoted)
            cursor.cursor.executemany(sql, rows)
    for pk_value, obj in zip(ids, objs, strict=True):
        setattr(obj, pk.attname, pk_value)
        obj._state.adding = False
        obj._state.db = connection.alias


def _reserve_ids(table: str, column: str, n: int) -> list[int]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, n],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT max({quote(column)}) FROM {quote(table)}")  # noqa: S608
        highest = max(found[0] if found else 0, cursor.fetchone()[0] or 0)
        return list(range(highest + 1, highest + 1 + n))
