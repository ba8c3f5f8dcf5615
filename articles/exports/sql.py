"""How the reader's queries are written and run: SQL expressions that keep the per-row work in
the database (ids as one parameter, timestamps as text, text sizes), and the runner that sends a
query on the reader thread's connection and hands its rows back as plain tuples."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any, NamedTuple

import psycopg
from django.db import NotSupportedError
from django.db.models import BooleanField, F, Func, IntegerField, QuerySet, TextField
from django.db.models.functions import Cast
from psycopg import errors as psycopg_errors
from psycopg import pq
from psycopg.adapt import AdaptersMap, Transformer

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler
    from django.db.models.sql.compiler import _AsSqlType as AsSql


class InIds(Func):
    """The rows whose `column` is one of `ids`: any number of ids, one short query. The ids
    are ints (made so here), written into the SQL as literals, so the literal is safe; `ids`
    may also be an `IdSlot`, for a query compiled once and given each batch's ids (`Prepared`).

    On PostgreSQL the plan matters. A batch's ids are mostly neighbours (rows are created in
    bulk), so when they are dense the index is scanned over their range (`BETWEEN min AND max`,
    which the planner estimates well) and `= ANY(...)` only filters the rows found (hashed;
    `+ 0` keeps the planner from using it as an index condition). As an index condition, an
    array of thousands of ids is costed as thousands of separate index probes, and PostgreSQL 15
    chose a sequential scan of the whole table instead: three to four times slower. Sparse ids
    keep `= ANY(...)` as the index condition. SQLite reads `json_each` of the ids (or, loose and
    dense, the range alone).

    `loose=True` is for a caller that drops the rows of ids it did not ask for (the reader's
    child tables, whose rows it files under parents it knows): when the ids nearly fill their
    range (`TIGHT`), the range alone is read. Building the hashed array of 12,000 ids cost
    PostgreSQL more than the index range scan itself (evidence of a batch: 9 ms, 3 ms without).
    """

    conditional = True
    output_field = BooleanField()
    # A range this many times wider than the number of ids counts as sparse.
    DENSE = 4
    # A range at most this many times wider than the number of ids is read alone when loose.
    TIGHT = 1.5

    def __init__(
        self, column: str, ids: Iterable[int | str] | IdSlot, *, loose: bool = False
    ) -> None:
        super().__init__(F(column))
        self.slot = ids if isinstance(ids, IdSlot) else None
        self.ids = [] if isinstance(ids, IdSlot) else [int(i) for i in ids]
        self.loose = loose

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> AsSql:
        return self._written(compiler, _ids_postgresql)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        return self._written(compiler, _ids_sqlite)

    def _written(self, compiler: SQLCompiler, write: Callable[..., str]) -> AsSql:
        column, params = compiler.compile(self.source_expressions[0])
        if params:
            raise NotSupportedError("InIds takes a plain column.")
        if self.slot is not None:
            self.slot.write = partial(write, column, self.loose)
            return self.slot.token, ()
        return write(column, self.loose, ids_of(self.ids)), ()


class Ids(NamedTuple):
    """Ids for an `InIds` (ints only: `array("q")` takes nothing else, in C) with their
    smallest and largest, found once however many of a batch's queries take them (`ids_of`):
    a batch's claim ids go to five queries, and finding their range in each took 5 ms of an
    export of issue 17's corpus."""

    values: array
    low: int
    high: int


def ids_of(values: Iterable[int]) -> Ids:
    ids = array("q", values)
    return Ids(ids, min(ids), max(ids)) if ids else Ids(ids, 0, -1)


def _ids_postgresql(column: str, loose: bool, ids: Ids) -> str:
    values, low, high = ids
    if values and loose and high - low + 1 <= InIds.TIGHT * len(values):
        return f"{column} BETWEEN {low} AND {high}"
    array = "'{" + ",".join(map(str, values)) + "}'::bigint[]"
    if not values or high - low + 1 > InIds.DENSE * len(values):
        return f"{column} = ANY({array})"
    return f"({column} BETWEEN {low} AND {high} AND ({column} + 0) = ANY({array}))"


def _ids_sqlite(column: str, loose: bool, ids: Ids) -> str:
    # The column is a compiled, quoted identifier; the ids are ints, as a JSON array literal.
    # Dense and loose: the index range alone, as on PostgreSQL (fewer probes, same rows kept).
    values, low, high = ids
    if loose and values and high - low + 1 <= InIds.TIGHT * len(values):
        return f"{column} BETWEEN {low} AND {high}"
    ints = "[" + ",".join(map(str, values)) + "]"
    return f"{column} IN (SELECT value FROM json_each('{ints}'))"  # noqa: S608


class IdIs(Func):
    """`column` compared (`op`: `=` or `>`) with one id given per run through an `IdSlot`
    (`Prepared`): the SQL is compiled once, the id written in as an integer literal, where a
    Django lookup (`pk__gt=last`) would have the whole queryset compiled again for each value.
    The text is the lookup's once psycopg has bound its parameter (`"t"."id" > 50`)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, op: str, slot: IdSlot) -> None:
        if op not in ("=", ">"):
            raise ValueError(f"unsupported comparison {op!r}")
        super().__init__(F(column))
        self.op, self.slot = op, slot

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> AsSql:
        column, params = compiler.compile(self.source_expressions[0])
        if params:
            raise NotSupportedError("IdIs takes a plain column.")
        self.slot.write = partial(_id_is, column, self.op)
        return self.slot.token, ()


def _id_is(column: str, op: str, ids: Ids) -> str:
    (value,) = ids.values
    return f"{column} {op} {value}"


class IdSlot:
    """The place of a query's `InIds` whose ids change from batch to batch (`Prepared`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.token = f"__export_ids_{name}__"
        # Set when the query is compiled: writes the condition for a batch's ids.
        self.write: Callable[[Ids], str] | None = None


class Bound(NamedTuple):
    """A query's SQL and parameters, ready to run (`runner`)."""

    sql: str
    params: tuple


class Prepared:
    """A reader's query compiled once per export: each batch only writes its ids into the
    query's `IdSlot`s. Building and compiling a queryset cost Django about 1.3 ms, as much as
    running some of the queries: a sixth to a quarter of the export's Python time at 1,000
    articles (nine queries in each batch of 250)."""

    def __init__(self, queryset: QuerySet, *slots: IdSlot) -> None:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
        for slot in slots:
            if sql.count(slot.token) != 1 or slot.write is None:
                raise ValueError(f"the query has no single place for the ids {slot.name!r}")
        self.sql, self.params, self.slots = sql, tuple(params), slots

    def __call__(self, *ids: Iterable[int] | Ids) -> Bound:
        sql = self.sql
        for slot, batch_ids in zip(self.slots, ids, strict=True):
            assert slot.write is not None
            # Ints only (`Ids`): nothing else is written into the SQL.
            given = batch_ids if isinstance(batch_ids, Ids) else ids_of(batch_ids)
            sql = sql.replace(slot.token, slot.write(given))
        return Bound(sql, self.params)


class IsoText(Func):
    """A timestamp as RFC 3339 text in UTC (`2025-01-31T12:00:00.000000Z`): parsing timestamps
    into Python objects only to print them again was a large part of the export's time.

    SQLite formats it. PostgreSQL sends the timestamp as it is: the reader's runner loads it as
    its 8 binary bytes (`runner`), and the reader writes each distinct value's text once
    (`ISO_TEXT`). `to_char` cost the server about 0.5 µs a value, 19 ms of an export of issue
    17's corpus (41,000 values); rows created together share their stamp. Only the reader's
    runner reads these columns."""

    output_field = TextField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        return compiler.compile(self.source_expressions[0])

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        # Django stores UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]".
        column, params = compiler.compile(self.source_expressions[0])
        return f"replace({column}, ' ', 'T') || 'Z'", params

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> AsSql:
        raise NotSupportedError("Exports run on PostgreSQL and SQLite, the project's databases.")


class IsoTextUnlessSame(IsoText):
    """`updated` as `IsoText`, or NULL when it equals `created` (the reader then repeats the
    created text): rows written in bulk, and rows never changed, have the two stamps equal, and
    formatting the second one cost the database as much as the first (on PostgreSQL a third of
    the claims query) and Python a string per row."""

    def __init__(self, updated, created) -> None:
        super().__init__(updated, created)

    def _unless_same(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, written: str):
        updated, created = (compiler.compile(e)[0] for e in self.source_expressions)
        return f"CASE WHEN {updated} = {created} THEN NULL ELSE {written} END", ()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        written, _ = IsoText(self.source_expressions[0]).as_postgresql(compiler, connection)
        return self._unless_same(compiler, connection, written)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        written, _ = IsoText(self.source_expressions[0]).as_sqlite(compiler, connection)
        return self._unless_same(compiler, connection, written)


def as_text(column: str) -> Cast:
    # Dates and JSON are read as the database's text, for the same reason.
    return Cast(column, output_field=TextField())


def as_iso(column: str) -> IsoText:
    return IsoText(F(column))


def as_iso_updated(column: str = "updated_at", created: str = "created_at") -> IsoText:
    """The update stamp as `as_iso`, or None when it is the creation stamp (see
    `IsoTextUnlessSame`): the reader writes the created text in its place."""
    return IsoTextUnlessSame(F(column), F(created))


class OctetLength(Func):
    """A text's size in bytes: what a batch's memory budget counts, known to the database
    without reading (or decompressing) the text."""

    output_field = IntegerField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        column, params = compiler.compile(self.source_expressions[0])
        return f"octet_length({column})", params

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        column, params = compiler.compile(self.source_expressions[0])
        return f"length(CAST({column} AS BLOB))", params


def runner(wrapper) -> Callable[[QuerySet | Bound], list[tuple]]:
    """How the reader thread runs a query on `wrapper`'s connection.

    On PostgreSQL the query is sent with libpq's blocking `PQexec`, which psycopg runs without
    holding Python's GIL until the whole result has arrived, and the rows are then loaded in one
    call. Through a cursor, psycopg takes the GIL back for every piece of the result read from
    the socket; with the writer thread busy, each of those waits its turn, and a batch's queries
    took four times as long. The query text is composed as psycopg's client-side cursor composes
    it (what Django sends too), errors become Django's database errors, and the query is logged
    where Django logs queries (`connection.queries`, query-count tests). Elsewhere (SQLite) the
    reader uses a Django cursor. A query is a queryset, or a `Bound` one (`Prepared`).
    """
    if wrapper.vendor != "postgresql":
        return lambda query: _fetch(query, wrapper)
    return raw_runner(wrapper.connection, wrapper)


class _IsoTexts(dict):
    """`IsoText`'s values as text, by value: a PostgreSQL binary timestamp (microseconds since
    2000-01-01 00:00 UTC, 8 bytes big-endian) written as `to_char(t AT TIME ZONE 'UTC',
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` would (None for PostgreSQL's infinities, which to_char
    leaves NULL); SQLite's text as it is. A hit is one dict lookup in C; a value is computed
    once, and the dict is emptied when it passes `KEPT` values. Shared by the readers' threads
    (a dict's reads and writes are atomic; two threads may compute a value twice, alike)."""

    KEPT = 100_000
    EPOCH = date(2000, 1, 1)

    def __missing__(self, value: bytes | str | None) -> str | None:
        if len(self) >= self.KEPT:
            self.clear()
        if value is None or isinstance(value, str):  # not read (a part left out); SQLite's
            self[value] = value
            return value
        micros = int.from_bytes(value, "big", signed=True)
        days, of_day = divmod(micros, 86_400_000_000)
        try:
            day = (self.EPOCH + timedelta(days=days)).isoformat()
        except OverflowError:  # infinity, or past year 9999 (which Django never writes)
            text = None
        else:
            seconds, fraction = divmod(of_day, 1_000_000)
            hours, seconds = divmod(seconds, 3600)
            minutes, seconds = divmod(seconds, 60)
            text = f"{day}T{hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:06d}Z"
        self[value] = text
        return text


# `ISO_TEXT[value]`: an `IsoText` column's value as the export writes it.
ISO_TEXT = _IsoTexts()

# PostgreSQL's timestamps loaded as their binary bytes, by psycopg's C loader of bytea (a copy
# of the 8 bytes), for `ISO_TEXT`.
_BYTES_LOADER = psycopg.adapters.get_loader(psycopg.adapters.types["bytea"].oid, pq.Format.BINARY)


class _Loading:
    """What a runner's `Transformer` loads rows with: the connection's adapters, timestamps as
    bytes (`IsoText`)."""

    def __init__(self, raw: psycopg.Connection) -> None:
        self.connection = raw
        self.adapters = AdaptersMap(raw.adapters)
        assert _BYTES_LOADER is not None
        self.adapters.register_loader(psycopg.adapters.types["timestamptz"].oid, _BYTES_LOADER)


def raw_runner(raw: psycopg.Connection, wrapper) -> Callable[[QuerySet | Bound], list[tuple]]:
    """`runner` on a psycopg connection of `wrapper`'s database that Django does not manage
    (the export's second reader): Django's errors, and the queries logged on `wrapper`."""
    composer = psycopg.ClientCursor(raw)
    encoding = raw.info.encoding
    loading = _Loading(raw)

    def run(query: QuerySet | Bound) -> list[tuple]:
        sql, params = _sql_of(query)
        text = composer.mogrify(sql, params)
        started = monotonic()
        with wrapper.wrap_database_errors:
            # Rows in binary: psycopg loads ints and floats from their bytes, not by parsing
            # text (a quarter of the loading of a batch's claims and annotations); texts load
            # alike either way. Blocking, without the GIL, like `PQexec`.
            result = raw.pgconn.exec_params(text.encode(encoding), [], result_format=BINARY)
            if result.status != pq.ExecStatus.TUPLES_OK:
                raise _error_of(result)
        if wrapper.queries_logged:
            wrapper.queries_log.append({"sql": text, "time": f"{monotonic() - started:.3f}"})
        loader = Transformer(loading)
        loader.set_pgresult(result)
        return loader.load_rows(0, result.ntuples, tuple)

    return run


BINARY = pq.Format.BINARY


def _error_of(result) -> psycopg.Error:
    """The psycopg exception for a failed result, by its SQLSTATE (as a cursor would raise)."""
    message = (result.error_message or b"").decode("utf-8", "replace").strip()
    state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    try:
        error_class = psycopg_errors.lookup(state)
    except KeyError:
        error_class = psycopg.DatabaseError
    return error_class(message or "The export's query failed.")


def _sql_of(query: QuerySet | Bound) -> tuple[str, Any]:
    if isinstance(query, Bound):
        return query
    return query.query.get_compiler(using=query.db).as_sql()


def _fetch(query: QuerySet | Bound, wrapper) -> list[tuple]:
    """All the rows of one query, as plain tuples in one round trip, through a Django cursor.

    A batch is held in memory anyway, so its rows are read at once through an ordinary cursor:
    no server-side cursor (DECLARE, a FETCH per 2,000 rows, CLOSE, and a plan tuned for the
    first rows), and no per-row work from Django. The select lists hold only fields and
    expressions that need no conversion (ints, text, timestamps and JSON cast to text by the
    database), in the order the rows are unpacked.
    """
    sql, params = _sql_of(query)
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
