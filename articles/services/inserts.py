# ruff: noqa: S608  (SQL built from a model's own table and column names, values as parameters)
"""New rows of one model written as plain values, with the columns asked for returned.

Why not bulk_create: it builds a model instance per row and compiles every value of every row
through its field (bench/README.md, "Spans in lists of 20": most of a bulk write's Python time).
Here each column's conversion is chosen once per model and defaults and timestamps are filled in
once per call. SQLite: multi-row INSERT ... VALUES ... RETURNING, as many rows per statement as
the parameter limit allows. PostgreSQL: one statement whatever the number of rows, the rows sent
as one JSON document read by json_populate_recordset (psycopg quoting a placeholder per value,
or dumping arrays value by value, was most of the time). The database checks every constraint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import cast

from django.db import connection, models

Convert = Callable[[object], object]


def _identity(value: object) -> object:
    return value


@cache
def _columns(model: type[models.Model]) -> tuple[list[str], list[str], list[str], list[str]]:
    """The model's insertable fields: attnames, columns, those stamped with the time of the
    write (auto_now, auto_now_add), and each one's kind of conversion ("json", "datetime", "")."""
    names, columns, stamped, kinds = [], [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(field.attname)
        columns.append(str(field.column))
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            stamped.append(field.attname)
        if isinstance(field, models.JSONField):
            kinds.append("json")
        elif isinstance(field, models.DateTimeField):
            kinds.append("datetime")
        else:  # validated ints, text, booleans, floats and None pass as they are
            kinds.append("")
    return names, columns, stamped, kinds


def _converters(kinds: list[str]) -> list[Convert]:
    ops = connection.ops

    def json_value(value: object) -> object:  # None is SQL NULL, as JSONField saves it
        return None if value is None else ops.adapt_json_value(value, None)

    def datetime_value(value: object) -> object:  # SQLite stores text; psycopg adapts datetimes
        return ops.adapt_datetimefield_value(cast(datetime | None, value))

    chosen: dict[str, Convert] = {
        "json": json_value,
        "datetime": _identity if connection.vendor == "postgresql" else datetime_value,
        "": _identity,
    }
    return [chosen[kind] for kind in kinds]


def _json_value(value: object) -> object:
    """A value as json_populate_recordset reads it into its column (a time in ISO 8601)."""
    return value.isoformat() if isinstance(value, datetime) else value


@cache
def defaults(model: type[models.Model]) -> dict[str, object]:
    """Each field's default (attname -> value) for the fields a caller leaves out. A callable
    default (JSONField(default=list)) is called again for each row by `complete`."""
    return {
        f.attname: f.default if f.has_default() and callable(f.default) else f.get_default()
        for f in model._meta.concrete_fields
        if not f.primary_key
    }


def complete(
    model: type[models.Model], values: Mapping[str, object], now: datetime
) -> dict[str, object]:
    """A row's values (attname -> value): `values` over the model's defaults, timestamps `now`."""
    stamped = _columns(model)[2]
    row = dict(defaults(model))
    for name, value in row.items():
        if callable(value):
            row[name] = value()
    row.update(values)
    for name in stamped:
        row[name] = now
    return row


def insert(
    model: type[models.Model], rows: Sequence[Mapping[str, object]], returning: Sequence[str] = ()
) -> list[tuple[object, ...]]:
    """INSERT `rows` (complete rows, see `complete`) of `model` in as few statements as the
    database's parameter limit allows; returns the `returning` columns of each row written."""
    if not rows:
        return []
    names, columns, _stamped, kinds = _columns(model)
    converts = _converters(kinds)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    into = f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)})"
    back = f" RETURNING {', '.join(quote(c) for c in returning)}" if returning else ""
    pairs = list(zip(names, converts, strict=True))
    answered: list[tuple[object, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # All rows as one JSON document that PostgreSQL reads as rows of the table (its own
            # row type), one string to send where psycopg would dump every value in Python.
            named = list(zip(names, columns, strict=True))
            document = json.dumps(
                [{column: _json_value(row[name]) for name, column in named} for row in rows]
            )
            listed = ", ".join(quote(c) for c in columns)
            cursor.execute(
                f"{into} SELECT {listed} FROM json_populate_recordset(NULL::{table}, %s){back}",
                [document],
            )
            if returning:
                answered = [tuple(r) for r in cursor.fetchall()]
            return answered
        width = len(names)
        per_statement = max(1, (connection.features.max_query_params or 65535) // width)
        one_row = "(" + ", ".join(["%s"] * width) + ")"
        for at in range(0, len(rows), per_statement):
            chunk = rows[at : at + per_statement]
            params = [convert(row[name]) for row in chunk for name, convert in pairs]
            values = ", ".join([one_row] * len(chunk))
            # Validated values, each converted as its field would convert it.
            cursor.execute(f"{into} VALUES {values}{back}", params)  # type: ignore[arg-type]
            if returning:
                answered += [tuple(r) for r in cursor.fetchall()]
    return answered
