"""Many new rows of one model written fast, inside the caller's transaction.

Django's bulk_create compiles every value of every row through the ORM, and building a model
instance per row cost as much again (bench/README.md, "Workload": the profiles). Here the rows
are plain tuples: the columns are named once, each value that needs it converted by one function
chosen per column (JSON, and datetimes on SQLite), every other column filled with its default
computed once, and the rows sent in one stream: PostgreSQL's COPY (psycopg's `copy`, ids drawn
from the table's sequence first); on SQLite multi-row INSERTs, a few hundred rows each (ids
following the table's AUTOINCREMENT counter: SQLite has one writer at a time and the caller holds
the write lock). The database
still checks every constraint (foreign keys at commit, as for bulk_create).

    ids = rows.insert_rows(Claim, ("article_id", "start", "end", "exact", "created_by_id"),
                           [(article_id, 0, 5, "Chips", user_id), ...])
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from itertools import chain, repeat
from typing import Any

import psycopg
import psycopg.copy
from django.db import IntegrityError, connection, models
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from django.utils import timezone

Convert = Callable[[Any], Any]


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return "[]" if value == [] else json.dumps(value)


_EMPTY_JSONB = b"\x01[]"


def _jsonb(value: Any) -> bytes | None:
    """A JSON value in jsonb's binary COPY form (a version byte, then the text _json writes)."""
    if value is None:
        return None
    return _EMPTY_JSONB if value == [] else b"\x01" + json.dumps(value).encode()


def _binary_converter(field: models.Field) -> Convert | None:
    """Binary COPY: JSON as jsonb's bytes, sent as they are (see _binary_types); the rest as it
    is (psycopg's C dumpers)."""
    return _jsonb if isinstance(field, models.JSONField) else None


# The PostgreSQL types of Django's columns that binary COPY writes from plain Python values.
_BINARY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "text": "text",
    # jsonb's binary form (a version byte and the text) is made by _jsonb and written as bytes:
    # psycopg's own jsonb dumper costs two Python calls per value (0.1 s per 40,000 values).
    "jsonb": "bytea",
    "timestamp with time zone": "timestamptz",
    "date": "date",
    "double precision": "float8",
    "boolean": "bool",
}


def _binary_types(fields: Sequence[models.Field]) -> list[str] | None:
    """The binary COPY type of each column, or None if one has no entry (then COPY as text)."""
    types = []
    for field in fields:
        if isinstance(field, models.ForeignKey):
            kind = field.rel_db_type(connection)
        else:
            kind = field.db_type(connection)
        if kind is None:
            return None
        if kind.startswith("varchar("):
            types.append("varchar")
        elif kind in _BINARY_TYPES:
            types.append(_BINARY_TYPES[kind])
        else:
            return None
    return types


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


class Prepared:
    """Rows of one model, ready to be written (prepare_rows), then written (write_prepared).

    `copy` (PostgreSQL, prepared with a psycopg cursor off the writer's thread): the COPY stream
    already formatted, so that the thread that writes it only sends bytes; otherwise the values
    column by column (`by_column`, the ids first; `tail`, the same for every row)."""

    __slots__ = (
        "binary",
        "by_column",
        "columns",
        "copy",
        "ids",
        "model",
        "pointed",
        "table",
        "tail",
    )

    def __init__(self, model, table, columns, ids, by_column, tail, binary):
        self.model: type[models.Model] = model
        self.table: str = table
        self.columns: list[str] = columns
        self.ids: list[int] = ids
        self.by_column: list[Sequence[Any]] = by_column
        self.tail: tuple[Any, ...] = tail
        self.binary: list[str] | None = binary
        self.copy: bytes | bytearray | None = None
        # PostgreSQL: {model pointed at: the values the rows' foreign keys hold} (ForeignKeys).
        self.pointed: dict[type[models.Model], set[Any]] | None = None

    def rows(self):
        return zip(*self.by_column, *map(repeat, self.tail), strict=False)  # (repeat: endless)


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ids: list[int] | None = None,
    foreign_keys: ForeignKeys | None = None,
) -> list[int]:
    """INSERT new rows of `model` and return their ids, in the rows' order.

    `fields` names the field of each value of a row, in order, by attname (`article_id`, not
    `article`); values are what the model's fields hold in Python (a list for a JSONField, a
    datetime). Every other concrete field takes its default, computed once for all the rows;
    auto_now and auto_now_add fields are set to the same now. The model's primary key must be
    an automatic integer. Other databases than PostgreSQL and SQLite: bulk_create.

    `ids`: the rows' ids, reserved already (reserve_ids); else drawn here. With `foreign_keys`
    (PostgreSQL, where it can), the rows' foreign keys are not checked one by one:
    `foreign_keys` notes them, and its `check()` checks them all at once (see there).
    """
    if not rows:
        return []
    if not supported():
        return _bulk_create(model, fields, rows)
    prepared = prepare_rows(model, fields, rows, ids=ids)
    write_prepared(prepared, foreign_keys=foreign_keys)
    return prepared.ids


def prepare_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ids: list[int] | None = None,
    now: Any = None,
    encoder: Any = None,
) -> Prepared:
    """The rows of insert_rows (see there), converted and ready for write_prepared; PostgreSQL
    or SQLite only. `now`: the time for auto_now fields (default: now). `encoder` (PostgreSQL):
    a psycopg cursor, not the writer's, with which the COPY stream is formatted here, on the
    calling thread; the ids must then be given. Nothing is sent to the database here unless ids
    are drawn."""
    opts = model._meta
    pk = opts.pk
    assert pk is not None
    by_name = {f.attname: f for f in opts.concrete_fields}
    given = [by_name[name] for name in fields]
    assert pk not in given and len(set(fields)) == len(fields), "new rows, each field once"
    now = timezone.now() if now is None else now
    rest = [f for f in opts.concrete_fields if not f.primary_key and f.attname not in fields]
    postgresql = connection.vendor == "postgresql"
    # PostgreSQL: binary COPY where every column's type has a binary form psycopg writes from
    # the Python value as it is (nothing to escape; JSON as jsonb's own bytes, see _jsonb).
    binary = _binary_types([pk, *given, *rest]) if postgresql else None
    converter = _converter if binary is None else _binary_converter
    constants = []
    for field in rest:
        stamped = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        value = now if stamped else field.get_default()
        convert = converter(field)
        constants.append(value if convert is None else convert(value))
    conversions = [(i, fn) for i, f in enumerate(given) if (fn := converter(f)) is not None]
    if ids is None:
        assert encoder is None, "ids reserved beforehand"
        [ids] = reserve_ids([(model, len(rows))])
    assert len(ids) == len(rows), "an id for each row"
    tail = tuple(constants)
    # The values column by column (the rows transposed, each conversion mapped over its column):
    # C loops, where building each row again in Python cost more than SQLite's own work for it.
    by_column: list[Sequence[Any]] = [ids, *zip(*rows, strict=True)]
    if len(by_column) != len(given) + 1:
        raise ValueError(f"each row must have {len(given)} values")
    for i, convert in conversions:
        by_column[i + 1] = _converted(by_column[i + 1], convert)
    columns_of = [pk.column, *(f.column for f in given), *(f.column for f in rest)]
    assert all(columns_of), "every concrete field has a column"
    prepared = Prepared(
        model, opts.db_table, [str(c) for c in columns_of], ids, by_column, tail, binary
    )
    if postgresql:
        prepared.pointed = _pointed(model, [*given, *rest], by_column, tail)
        if encoder is not None:
            prepared.copy = _formatted(encoder, prepared)
    return prepared


def write_prepared(prepared: Prepared, *, foreign_keys: ForeignKeys | None = None) -> None:
    """Write rows prepared by prepare_rows, inside the caller's transaction: one COPY on
    PostgreSQL (foreign keys noted by `foreign_keys`, see insert_rows), multi-row INSERTs on
    SQLite."""
    if not prepared.ids:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in prepared.columns)
    table = quote(prepared.table)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            _sqlite_insert(table, prepared.columns, prepared.by_column, prepared.tail)
            return
        if foreign_keys is not None:
            foreign_keys.take(cursor, prepared.model, prepared.pointed, prepared.ids)
        raw = cursor.cursor
        binary = prepared.binary
        statement = f"COPY {table} ({columns}) FROM STDIN"
        if binary is not None:
            statement += " (FORMAT BINARY)"
        with raw.copy(statement) as copy:
            if prepared.copy is not None:  # formatted already: bytes to send
                copy.write(prepared.copy)
                return
            if binary is not None:
                copy.set_types(binary)
            for row in prepared.rows():
                copy.write_row(row)


class _Collected(psycopg.copy.Writer):
    """Where psycopg writes a COPY stream that is formatted now and sent later."""

    def __init__(self) -> None:
        self.parts: list[Any] = []

    def write(self, data) -> None:
        self.parts.append(data)


try:  # psycopg's row formatter for binary COPY (its C one with psycopg-binary or psycopg-c)
    from psycopg._copy_base import format_row_binary as _format_row_binary
except ImportError:  # (a psycopg that moved it: psycopg's Copy.write_row, below)
    _format_row_binary = None

# PostgreSQL's binary COPY stream: the signature, flags (0) and no header extension, then the
# rows, then the trailer (a field count of -1). https://www.postgresql.org/docs/current/sql-copy.html
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_BINARY_TRAILER = b"\xff\xff"


def _formatted(encoder, prepared: Prepared) -> bytes | bytearray:
    """The whole COPY stream of the rows (binary: its header, the rows, its trailer), formatted
    by psycopg's own formatter with `encoder`'s adapters. Binary rows go through its C row
    formatter in a C loop (map): 20,000 claims in 9 ms, where psycopg's Copy.write_row (two
    Python calls a row) took 21 ms (bench/README.md)."""
    binary = prepared.binary
    if binary is not None and _format_row_binary is not None:
        transformer = psycopg.adapt.Transformer(encoder)
        oids = [encoder.adapters.types.get_oid(name) for name in binary]
        transformer.set_dumper_types(oids, psycopg.pq.Format.BINARY)
        out = bytearray(_BINARY_HEADER)
        deque(map(_format_row_binary, prepared.rows(), repeat(transformer), repeat(out)), 0)
        out += _BINARY_TRAILER
        return out
    collected = _Collected()
    with psycopg.Copy(encoder, binary=binary is not None, writer=collected) as copy:
        if binary is not None:
            copy.set_types(binary)
        for row in prepared.rows():
            copy.write_row(row)
    return b"".join(collected.parts)


def _pointed(
    model: type[models.Model],
    fields: Sequence[models.Field],
    by_column: Sequence[Sequence[Any]],
    tail: Sequence[Any],
) -> dict[type[models.Model], set[Any]] | None:
    """{model pointed at: the values of the rows' foreign keys to it}; None if the model has a
    foreign key ForeignKeys cannot check (see _keys)."""
    keys = _keys(model)
    if keys is None:
        return None
    given = len(by_column) - 1
    pointed: dict[type[models.Model], set[Any]] = {}
    for field in keys:
        index = fields.index(field)
        values = set(by_column[index + 1]) if index < given else {tail[index - given]}
        values.discard(None)
        pointed.setdefault(field.related_model, set()).update(values)
    return pointed


# Rows per INSERT on SQLite: each statement's SQL is the same for every full batch, so SQLite
# (and the cursor below) prepare it once per import and table.
SQLITE_ROWS_PER_STATEMENT = 500


class _SQLiteCursor(SQLiteCursorWrapper):
    """Django's SQLite cursor with its "%s" to "?" rewrite of a statement remembered: a batch
    of 500 rows has some 6,000 placeholders, and the rewrite (a regular expression) took 1.2 ms
    per statement, about a fifth of SQLite's own time for the rows."""

    converted: dict[str, str] = {}

    def convert_query(self, query, *, param_names=None):
        if param_names is not None:
            return super().convert_query(query, param_names=param_names)
        done = self.converted.get(query)
        if done is None:
            if len(self.converted) > 64:
                self.converted.clear()
            done = self.converted[query] = super().convert_query(query)
        return done


def _sqlite_insert(
    table: str,
    columns_of: Sequence[str | None],
    by_column: list[Sequence[Any]],
    tail: Sequence[Any],
) -> None:
    """The rows (their varying values, column by column; `tail`: the same for all, bound once
    per statement) as multi-row VALUES, SQLITE_ROWS_PER_STATEMENT at a time: SQLite's CPU for
    20,000 claims 0.12 s, where one JSON array unpacked by SQLite (json_each) took 0.25 s and
    executemany 0.24 s (bench/README.md, "importfast3")."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(c)) for c in columns_of)
    varying = len(columns_of) - len(tail)
    limit = _sqlite_variable_limit()
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, (limit - len(tail)) // max(varying, 1)))
    picks = ", ".join(f"column{i + 1}" for i in range(varying))
    marks = "".join(", %s" for _ in tail)
    one = "(" + ", ".join("%s" for _ in range(varying)) + ")"
    connection.ensure_connection()
    raw = connection.connection.cursor(factory=_SQLiteCursor)
    # Wrapped as Django wraps its own cursors: execute_wrapper and the logged queries see these.
    cursor = (
        connection.make_debug_cursor(raw)
        if connection.queries_logged
        else connection.make_cursor(raw)
    )
    try:
        count = len(by_column[0])
        for first in range(0, count, per):
            last = min(first + per, count)
            sql = (
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 (names quoted)
                f"SELECT {picks}{marks} FROM (VALUES {', '.join([one] * (last - first))})"
            )
            batch = zip(*(column[first:last] for column in by_column), strict=True)
            cursor.execute(sql, [*tail, *chain.from_iterable(batch)])
    finally:
        cursor.close()


def _sqlite_variable_limit() -> int:
    """The most parameters one statement takes (SQLite's compile-time limit; 999 before 3.32)."""
    try:
        return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):
        return 999


def _converted(column: Sequence[Any], convert: Convert) -> list[Any]:
    """`convert` over a column; once for a column of empty lists (an import's labels, mostly)."""
    if column.count([]) == len(column):  # (only an empty list equals one)
        return [convert([])] * len(column)
    return list(map(convert, column))


def _bulk_create(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
    model._default_manager.bulk_create(objs, batch_size=1000)
    return [obj.pk for obj in objs]


def reserve_ids(
    wanted: Sequence[tuple[type[models.Model], int]],
    *,
    foreign_keys: ForeignKeys | None = None,
    side: Any = None,
) -> list[list[int]]:
    """New ids for `n` rows of each (model, n), in one query on PostgreSQL (each round trip
    waits its turn for the GIL while the planner thread works). With `foreign_keys`, the same
    query pauses the per-row checks for the rows written next (ForeignKeys.pause). `side`
    (PostgreSQL): another connection (psycopg's, in autocommit) to draw them on instead: a
    sequence is the same for every connection and outside every transaction."""
    tables = [(m._meta.db_table, str(m._meta.pk.column), n) for m, n in wanted]
    if connection.vendor != "postgresql":
        return [_sqlite_ids(table, column, n) for table, column, n in tables]
    # Per model, one array back: the first and last id, then all of them only when another
    # writer took ids from the sequence meanwhile, so that they do not follow one another (the
    # sequence looked up once, in a subquery, not once per row).
    one = (
        "(SELECT ARRAY[min(v), max(v)] || CASE WHEN max(v) - min(v) + 1 = count(*) "
        "THEN '{}'::bigint[] ELSE array_agg(v ORDER BY v) END FROM (SELECT nextval((SELECT "
        "pg_get_serial_sequence(%s, %s))) AS v FROM generate_series(1, %s)) AS reserved)"
    )
    counted = [(table, column, n) for table, column, n in tables if n > 0]
    pause = (
        side is None
        and foreign_keys is not None
        and foreign_keys.enabled
        and not foreign_keys.paused
    )
    parts = [one] * len(counted) + ([_PAUSE] if pause else [])
    if not parts:
        return [[] for _ in tables]
    query = "SELECT " + ", ".join(parts)
    params = [value for row in counted for value in row]
    if side is not None:
        found = list(side.execute(query, params).fetchone())
    else:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            found = list(cursor.fetchone())
    if pause:
        assert foreign_keys is not None
        foreign_keys.paused = True
    out: list[list[int]] = []
    for _, _, n in tables:
        if n == 0:
            out.append([])
            continue
        first, last, *scattered = found.pop(0)
        out.append(scattered or list(range(first, last + 1)))
    return out


def _sqlite_ids(table: str, column: str, n: int) -> list[int]:
    if n == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT max({quote(column)}) FROM {quote(table)}")  # noqa: S608
        highest = max(found[0] if found else 0, cursor.fetchone()[0] or 0)
        return list(range(highest + 1, highest + 1 + n))


# --- Foreign keys checked per batch (PostgreSQL) ----------------------------------------------

# PostgreSQL fires no trigger, its foreign-key checks included, while this is `replica` (local
# to the transaction; a rollback to a savepoint before it was set restores it too).
_PAUSE = "set_config('session_replication_role', 'replica', true)"
_RESUME = "set_config('session_replication_role', 'origin', true)"
_allowed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _may_pause_triggers() -> bool:
    """Whether this connection's role may set session_replication_role (a superuser, or on
    PostgreSQL 15 and later a role granted SET on it), asked once per connection."""
    raw = connection.connection
    if raw is None or connection.vendor != "postgresql":
        return False
    if raw not in _allowed:
        with connection.cursor() as cursor:
            if getattr(connection, "pg_version", 0) >= 150000:
                cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
            else:
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            _allowed[raw] = bool(cursor.fetchone()[0])
    return _allowed[raw]


class ForeignKeys:
    """The foreign keys of new rows, checked once per batch instead of once per row.

    PostgreSQL checks a foreign key with a trigger per row and per key: a query that finds the
    row pointed at and locks it (FOR KEY SHARE) so that it cannot be deleted before the commit.
    An import of 1,000 documents makes 100,000 such checks, 0.35 s of the server's time, more
    than writing the rows (bench/README.md, "The import with spans"). Here the rows are written
    with the triggers standing aside for that one statement, and `check()` does what they would
    have done, for all the rows at once: every value pointing at a row this import wrote is
    checked against the ids it wrote (in Python: the rows exist, in this transaction, and no one
    else can see them to delete them); every other value (a user, a topic, the corpus) is
    looked up and locked FOR KEY SHARE in one query per table, as the triggers lock it. A value
    that points nowhere raises IntegrityError, as a trigger would, and the import rolls back.

    Only where the connection may set session_replication_role (`enabled`), and only for
    models whose every foreign key points at a primary key (`take` says, per model); the
    counting triggers, which also stand aside, must already be deferred (counters.deferred).
    """

    def __init__(self) -> None:
        self.enabled = _may_pause_triggers()
        self.paused = False  # the triggers standing aside now
        self.written: defaultdict[type[models.Model], set[Any]] = defaultdict(set)
        self.wanted: defaultdict[type[models.Model], set[Any]] = defaultdict(set)
        self.locked: defaultdict[type[models.Model], set[Any]] = defaultdict(set)

    def take(
        self,
        cursor,
        model: type[models.Model],
        pointed: dict[type[models.Model], set[Any]] | None,
        ids: Sequence[Any],
    ) -> None:
        """Before rows are written: note their foreign keys (`pointed`, see rows._pointed), to
        be checked by `check()`, and pause the per-row checks; or, for a model this cannot
        check (`pointed` None), let them run."""
        if not self.enabled or pointed is None:
            if self.paused:
                cursor.execute(f"SELECT {_RESUME}")
                self.paused = False
            return
        if not self.paused:
            cursor.execute(f"SELECT {_PAUSE}")
            self.paused = True
        for parent, values in pointed.items():
            self.wanted[parent] |= values
        self.written[model].update(ids)

    def check(self) -> None:
        """Check (and lock) what the rows written since the last check point at, and let the
        per-row checks run again; one query."""
        quote = connection.ops.quote_name
        parents, parts, params = [], [], []
        for parent, values in self.wanted.items():
            outside = values - self.written[parent] - self.locked[parent]
            if outside:
                opts = parent._meta
                pk = quote(str(opts.pk.column))
                parents.append((parent, outside))
                parts.append(
                    f"ARRAY(SELECT {pk} FROM {quote(opts.db_table)} "  # noqa: S608 (quoted)
                    f"WHERE {pk} = ANY(%s) FOR KEY SHARE)"
                )
                params.append(sorted(outside))
        self.wanted.clear()
        if self.paused:
            parts.append(_RESUME)
            self.paused = False
        if not parts:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            found = cursor.fetchone()
        for (parent, outside), locked in zip(parents, found, strict=False):
            missing = outside.difference(locked)
            if missing:
                opts = parent._meta
                raise IntegrityError(
                    f"{opts.db_table}: no row with {opts.pk.attname} "
                    f"{', '.join(map(str, sorted(missing)[:5]))}, which new rows point at."
                )
            self.locked[parent].update(locked)


_keys_of: dict[type[models.Model], tuple[models.ForeignKey, ...] | None] = {}


def _keys(model: type[models.Model]) -> tuple[models.ForeignKey, ...] | None:
    """The model's foreign keys the database checks; None if one points at another column than
    its table's primary key (those rows keep the database's own checks)."""
    if model not in _keys_of:
        keys = tuple(
            field
            for field in model._meta.concrete_fields
            if isinstance(field, models.ForeignKey) and getattr(field, "db_constraint", True)
        )
        plain = all(field.target_field == field.related_model._meta.pk for field in keys)
        _keys_of[model] = keys if plain else None
    return _keys_of[model]


# A second connection (PostgreSQL): articles/side.py.
