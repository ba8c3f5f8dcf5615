"""Many new rows of one model written fast, inside the caller's transaction.

Django's bulk_create compiles every value of every row through the ORM, and building a model
instance per row cost as much again (bench/README.md, "Workload": the profiles). Here the rows
are plain tuples: the columns are named once, each value that needs it converted by one function
chosen per column (JSON, and datetimes on SQLite), every other column filled with its default
computed once, and the rows sent in one stream: PostgreSQL's COPY (psycopg's `copy`, ids drawn
from the table's sequence first); on SQLite one INSERT ... SELECT over the rows as a JSON array
(json_each; ids following the table's AUTOINCREMENT counter: SQLite has one writer at a time and
the caller holds the write lock). The database
still checks every constraint (foreign keys at commit, as for bulk_create).

    ids = rows.insert_rows(Claim, ("article_id", "start", "end", "exact", "created_by_id"),
                           [(article_id, 0, 5, "Chips", user_id), ...])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from django.db import connection, models
from django.utils import timezone

Convert = Callable[[Any], Any]


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return "[]" if value == [] else json.dumps(value)


def _converter(field: models.Field) -> Convert | None:
    """How a Python value of `field` is sent to this database; None: as it is."""
    if isinstance(field, models.JSONField):
        return _json
    if connection.vendor == "postgresql":
        return None
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    return None


def supported() -> bool:
    return connection.vendor in ("postgresql", "sqlite")


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """INSERT new rows of `model` and return their ids, in the rows' order.

    `fields` names the field of each value of a row, in order, by attname (`article_id`, not
    `article`); values are what the model's fields hold in Python (a list for a JSONField, a
    datetime). Every other concrete field takes its default, computed once for all the rows;
    auto_now and auto_now_add fields are set to the same now. The model's primary key must be
    an automatic integer. Other databases than PostgreSQL and SQLite: bulk_create.
    """
    if not rows:
        return []
    opts = model._meta
    pk = opts.pk
    assert pk is not None
    by_name = {f.attname: f for f in opts.concrete_fields}
    given = [by_name[name] for name in fields]
    assert pk not in given and len(set(fields)) == len(fields), "new rows, each field once"
    if not supported():
        return _bulk_create(model, fields, rows)
    now = timezone.now()
    rest = [f for f in opts.concrete_fields if not f.primary_key and f.attname not in fields]
    constants = []
    for field in rest:
        stamped = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        value = now if stamped else field.get_default()
        convert = _converter(field)
        constants.append(value if convert is None else convert(value))
    conversions = [(i, fn) for i, f in enumerate(given) if (fn := _converter(f)) is not None]
    ids = _reserve_ids(opts.db_table, str(pk.column), len(rows))
    tail = tuple(constants)
    # PostgreSQL: whole rows for COPY; SQLite: the varying values (the constants are parameters).
    last = tail if connection.vendor == "postgresql" else ()
    if conversions:
        values: Iterable[Sequence[Any]] = (
            (pk_value, *_converted(row, conversions), *last)
            for pk_value, row in zip(ids, rows, strict=True)
        )
    else:
        values = ((pk_value, *row, *last) for pk_value, row in zip(ids, rows, strict=True))
    quote = connection.ops.quote_name
    columns_of = [pk.column, *(f.column for f in given), *(f.column for f in rest)]
    assert all(columns_of), "every concrete field has a column"
    columns = ", ".join(quote(str(c)) for c in columns_of)
    table = quote(opts.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            _sqlite_insert(cursor, table, columns_of, list(values), tail)
    return ids


# Above this size a row is cheaper to bind value by value than to unpack from JSON (SQLite
# parses a row's JSON once per column it takes out: an article's text is read 16 times).
JSON_BYTES_PER_ROW = 1000


def _sqlite_insert(
    cursor,
    table: str,
    columns_of: Sequence[str | None],
    rows: list[Sequence[Any]],
    tail: Sequence[Any],
) -> None:
    """The rows (their varying values; `tail`: the same for all) as one JSON array that SQLite
    unpacks itself: binding each value of each row from Python (executemany) cost about a
    quarter of inserting a claim. Rows with long texts: executemany."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(c)) for c in columns_of)
    payload = orjson.dumps(rows)
    if len(payload) > JSON_BYTES_PER_ROW * len(rows):
        marks = ", ".join("%s" for _ in columns_of)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names quoted)
        cursor.executemany(sql, [(*row, *tail) for row in rows])
        return
    varying = len(columns_of) - len(tail)
    picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(varying))
    marks = "".join(", %s" for _ in tail)
    sql = (
        f"INSERT INTO {table} ({columns}) "  # noqa: S608 (names quoted)
        f"SELECT {picks}{marks} FROM json_each(%s) ORDER BY key"
    )
    cursor.execute(sql, [*tail, payload.decode()])


def _converted(row: Sequence[Any], conversions: list[tuple[int, Convert]]) -> list[Any]:
    values = list(row)
    for i, convert in conversions:
        values[i] = convert(values[i])
    return values


def _bulk_create(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
    model._default_manager.bulk_create(objs, batch_size=1000)
    return [obj.pk for obj in objs]


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
