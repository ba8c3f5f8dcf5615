"""Cursor pagination for every API list: `{"next", "previous", "results"}`.

The view fixes the ordering (clients cannot choose one, so nothing from the query string ever
reaches order_by); `?page_size=` goes up to 500 (more is capped); a malformed cursor or page size
is a 400 naming the parameter, never a 404 or a database error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
# The page sizes whose first page FirstPage reads prepared. A prepared read's LIMIT is in its
# SQL, one statement per page size, and on PostgreSQL each connection keeps its statements
# (psycopg at most 100, deallocating the least recently used): any page size would let a client
# sweeping them churn that cache. Other page sizes read the queryset, as later pages do.
PREPARED_PAGE_SIZES = (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
# What cursor pagination reads for such a page: one row more, to know whether there is a next.
PREPARED_LIMITS = frozenset(size + 1 for size in PREPARED_PAGE_SIZES)
_INTEGER_FIELDS = (models.IntegerField, models.AutoField)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{1,4000}={0,2}")
INVALID_CURSOR = "Invalid cursor; follow the next/previous links as given."


class CursorPage(CursorPagination):
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    page_size_query_description = f"Results per page, 1 to {MAX_PAGE_SIZE} (default 100)."
    ordering: tuple[str, ...] = ("id",)

    def __init__(self, ordering: Sequence[str] | None = None):
        if ordering is not None:
            self.ordering = tuple(ordering)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError(
                {"page_size": [f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}."]}
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = "Opaque; copy it from a `next` or `previous` link."
        return parameters

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and not _BASE64.fullmatch(encoded):
            raise ValidationError({"cursor": [INVALID_CURSOR]})
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [INVALID_CURSOR]}) from None
        if cursor is not None and cursor.position is not None:
            # Text from the query string (DRF's stubs call it an int; str() changes nothing).
            self._check_position(str(cursor.position))
        return cursor

    def _check_position(self, position: str) -> None:
        """A forged cursor must not reach the database as a value it would choke on."""
        invalid = ValidationError({"cursor": [INVALID_CURSOR]})
        if "\x00" in position or len(position) > 1000:
            raise invalid
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:  # an annotation (e.g. a username): compared as text
            return
        if isinstance(field, _INTEGER_FIELDS):
            if not (position.lstrip("-").isascii() and position.lstrip("-").isdigit()):
                raise invalid
            if not -(2**63) < int(position) < 2**63:
                raise invalid


class FirstPage:
    """A list's first page read by `read(limit)` (a prepared read of the same rows in the same
    `ordering`), standing in for `queryset` where cursor pagination slices it: DRF's paging (the
    page size, the `next` link from the last row) runs as over the queryset itself. Anything but
    the first page in that ordering, at one of PREPARED_PAGE_SIZES, comes from `queryset`."""

    def __init__(self, queryset: Any, ordering: Sequence[str], read: Callable[[int], list]):
        self.queryset = queryset
        self.ordering = tuple(ordering)
        self.read = read
        self.model = queryset.model

    def order_by(self, *fields: str) -> Any:
        if fields == self.ordering:
            return self
        return self.queryset.order_by(*fields)

    def __getitem__(self, index: slice) -> list:
        if not index.start and index.step is None and index.stop in PREPARED_LIMITS:
            return self.read(index.stop)
        return self.queryset.order_by(*self.ordering)[index]
