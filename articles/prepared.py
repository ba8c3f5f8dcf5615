"""Short reads compiled to SQL once per process, then run with each request's arguments.

The ORM builds and compiles a query's SQL on every call. For the short reads every API request
makes (the token, the object the URL names with the caller's role) that was most of their time:
about 1 ms of ORM work around a 0.1 ms query (bench/README.md). A `Prepared` read is an ordinary
QuerySet, built once with marker arguments and compiled by the ORM for the database it reads
from; each call runs that SQL with the real arguments in the markers' places, and its rows go
through the converters the ORM itself would apply. So the SQL is exactly the ORM's.

Only for queries whose SQL does not depend on the arguments' values: equality filters on them
(`field=argument`), never `__in` lists or `None` (the ORM would write `IS NULL`).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router
from django.db.models import QuerySet

_INT_MARKER_BASE = 7_301_955_000_000_000_000  # values no real argument takes
_STR_MARKER = "\x1fprepared-argument-{}\x1f"


def _marker(kind: type, index: int) -> Any:
    if kind is int:
        return _INT_MARKER_BASE + index
    if kind is str:
        return _STR_MARKER.format(index)
    raise ImproperlyConfigured(f"Prepared arguments are int or str, not {kind!r}.")


def _leaves(node: Any) -> Iterator[Any]:
    """The lookups of a WHERE tree."""
    for child in getattr(node, "children", ()):
        if hasattr(child, "children"):
            yield from _leaves(child)
        else:
            yield child


class Prepared:
    """`build(*arguments)` (a `values_list` QuerySet on `model`) compiled once per database
    connection; `rows(*arguments)` runs it. `kinds` gives each argument's type (int or str)."""

    def __init__(self, model: type[models.Model], build: Callable[..., QuerySet], *kinds: type):
        self.model = model
        self.build = build
        self.markers = tuple(_marker(kind, index) for index, kind in enumerate(kinds))
        self.kinds = kinds
        self._local = threading.local()  # a compiler is bound to its thread's connection

    def _compile(self, alias: str) -> tuple[str, list[tuple[bool, Any]], Any, dict]:
        queryset = self.build(*self.markers).using(alias)
        for node in _leaves(queryset.query.where):
            # A date or time (datetime too) compiled once would keep its first value: now().
            if isinstance(getattr(node, "rhs", None), datetime.date):
                raise ImproperlyConfigured(
                    "A prepared read cannot hold a date or time: it would keep the value of its "
                    "first call. Filter by it in Python, or pass it as an argument."
                )
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots: list[tuple[bool, Any]] = []
        found = set()
        for value in params:
            index = next(
                (
                    i
                    for i, marker in enumerate(self.markers)
                    if type(value) is type(marker) and value == marker
                ),
                None,
            )
            if index is None:
                slots.append((False, value))  # a constant of the query itself
            else:
                slots.append((True, index))
                found.add(index)
        if len(found) != len(self.markers):
            raise ImproperlyConfigured("A prepared read must use each argument as a parameter.")
        columns = [selected[0] for selected in compiler.select[0 : compiler.col_count]]
        return sql, slots, compiler, compiler.get_converters(columns)

    def rows(self, *arguments: Any) -> list[Sequence[Any]]:
        return self.read(*arguments)[1]

    def read(self, *arguments: Any) -> tuple[str, list[Sequence[Any]]]:
        """The database it read from (for `instance`) and the rows."""
        for value, kind in zip(arguments, self.kinds, strict=True):
            if type(value) is not kind:
                raise TypeError(f"A prepared read's argument must be {kind.__name__}: {value!r}")
        alias = router.db_for_read(self.model) or "default"
        compiled = self._local.__dict__.setdefault("by_alias", {})
        if alias not in compiled:
            compiled[alias] = self._compile(alias)
        sql, slots, compiler, converters = compiled[alias]
        params = [arguments[value] if is_argument else value for is_argument, value in slots]
        connection = connections[alias]
        # On PostgreSQL a statement the server keeps prepared: planning it was most of the time.
        cursor_of = getattr(connection, "prepared_cursor", connection.cursor)
        with cursor_of() as cursor:
            cursor.execute(sql, params)
            rows: list[Sequence[Any]] = cursor.fetchall()
        if converters and rows:
            rows = list(compiler.apply_converters(rows, converters))
        return alias, rows


def columns(model: type[models.Model], via: str = "") -> list[str]:
    """Every concrete field of `model` (reached through `via`, e.g. "corpus__"), for values_list
    and `instance`."""
    return [f"{via}{field.attname}" for field in model._meta.concrete_fields]


def instance(model: type[models.Model], alias: str, values: Sequence[Any]) -> Any:
    """A model instance from the values of `columns(model)`, as the ORM makes one from a row."""
    return model.from_db(alias, [f.attname for f in model._meta.concrete_fields], values)
