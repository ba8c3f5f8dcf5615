"""The one base of the REST API's views: what the endpoints repeat, written once.

A handler parses its input, calls a service and presents the result; everything else is here:
fetching the object the URL names with the caller's access (404, 403), one page of a list
(CursorPage, in an order the view fixes), FilterSet filtering, the ETag of a single object,
versioned writes (If-Match or `version`; 428 when an update names none), and 201 with Location.
Errors are not caught here or in the views: services raise, and exceptions.api_exception_handler
answers (400, 403, 404, 409, 412 with the current object, 413).

What a new endpoint (a subclass of `ApiView`) provides:

- `fetcher`, the selector that fetches what the URL names together with the caller's `Access`
  (`staticmethod(selectors.<kind>_with_access)`: 404 for non-members), and `lookup_url_kwarg`,
  the URL argument it takes ("id" unless said otherwise). `fetch(Action.X)` also answers 403
  unless the caller's role allows X. A list's fetcher fetches its parent (the corpus, article or
  claim it lists from); a list without a parent (the caller's corpora) has none.
- A single object: `present(obj, access)`, the JSON a GET returns (by default `serializer_class`
  on the object), and `current()` when a GET fetches more than `fetch()` does. `retrieve()`
  answers with it and its ETag; the 412 handler shows `present_current()` under `current`.
- A list: `get_queryset()` built from `self.parent` and `self.access` (which `list()` sets before
  calling it) through a selector; `ordering`, fixed (clients never choose one); `serializer_class`;
  optionally `filterset_class` (articles.filters; an AccessFilterSet is given `access=`) and
  `rows_share`, the name under which every row gets the parent (e.g. "corpus"), so that the
  serializer reads it without a query per row. `list()` answers one page.
- Writes: `read(serializer_class)` for validated input (the body is read after the access checks:
  a non-member gets 404, not 400); `update(service, data, **target)` for a versioned change;
  `destroy(obj, delete)` for a delete (a version, when given, must be the current
  one); `created(body, url_name, **url_kwargs)` for 201 with Location.
- Schema: `@extend_schema` on each handler with its request and responses (schema.ERRORS, STALE,
  CONFLICT); list filters are documented from `filterset_class` by FilterSetBackend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from articles import services
from articles.access import Access
from articles.filters import AccessFilterSet
from articles.permissions import Action
from articles.services.base import Versioned

from .auth import fetched_with_token
from .exceptions import PreconditionRequired
from .pagination import CursorPage
from .schema import filter_parameters
from .serializers import VersionedInput

T = TypeVar("T")
# selectors.<kind>_with_access: (user, what the URL names) -> (object, the caller's Access)
Fetcher = Callable[[Any, Any], tuple[Any, Access]]


# --- Input and versions ----------------------------------------------------------------------


def signed_in(request: Request) -> User:
    """The caller as the services' `actor`. The API's default permission (IsAuthenticated) lets
    no anonymous request reach a handler that writes; one that did would get a 401 here."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def read_input(
    serializer_class: type[serializers.Serializer], request: Request, *, partial: bool = False
) -> dict[str, Any]:
    """The request body validated by `serializer_class` (400 naming each bad field)."""
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def client_version(request: Request, data: dict[str, Any]) -> int | None:
    """The version the client edited: `If-Match` (quoted, weak or bare) or `version` in the body
    (taken out of `data`, which goes on to the service)."""
    body_version = data.pop("version", None)
    header = request.headers.get("If-Match")
    if header is None or header.strip() in ("", "*"):
        return body_version
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise ValidationError({"If-Match": ['If-Match must be the ETag you were given, e.g. "3".']})
    return int(value)


def required_version(request: Request, data: dict[str, Any]) -> int | None:
    """Updates must say which version they edit, so that none overwrites a change unseen (428);
    `If-Match: *` is HTTP's "whatever the current version is", an explicit overwrite (None)."""
    version = client_version(request, data)
    if version is None and request.headers.get("If-Match", "").strip() != "*":
        raise PreconditionRequired()
    return version


def named_in_body(
    fetcher: Fetcher,
    user: Any,
    value: Any,
    *,
    field: str,
    message: str,
    within: Callable[[Any], bool],
) -> Any:
    """An object the body names by id (a relation's claims, an assignment's article). One the
    caller cannot see, or that lies outside what the URL names (`within`), is a mistake in the
    body: 400 naming `field`, never a 404 that would say which ids exist elsewhere."""
    try:
        obj, _access = fetcher(user, value)
    except Http404:
        obj = None
    if obj is None or not within(obj):
        raise ValidationError({field: [message]})
    return obj


# --- Filtering -------------------------------------------------------------------------------


class FilterSetBackend(BaseFilterBackend):
    """The view's `filterset_class` applied to its list: a bad value is a 400 naming the
    parameter; a FilterSet that filters people's work (AccessFilterSet) gets the caller's access.
    The schema lists the FilterSet's filters as the operation's query parameters."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None:
            return queryset
        if not any(name in request.query_params for name in filterset_class.base_filters):
            # Nothing to filter by: the FilterSet would give the queryset back as it is (its
            # form costs a third of a short list's time). tests/api/test_filter_shortcut.py
            return queryset
        extra = {"access": view.access} if issubclass(filterset_class, AccessFilterSet) else {}
        filterset = filterset_class(
            request.query_params, queryset=queryset, request=request, **extra
        )
        if not filterset.is_valid():
            raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
        return filterset.qs

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        filterset_class = getattr(view, "filterset_class", None)
        return filter_parameters(filterset_class) if filterset_class is not None else []


# --- The base view ---------------------------------------------------------------------------


class ApiView(GenericAPIView):
    # No docstring on purpose: the schema takes a view's description from the nearest class
    # docstring, and this one would become every endpoint's. The module docstring says what a
    # subclass provides.

    fetcher: ClassVar[staticmethod[[Any, Any], tuple[Any, Access]] | None] = None
    lookup_url_kwarg = "id"
    pagination_class = CursorPage
    filter_backends = [FilterSetBackend]
    filterset_class: ClassVar[type | None] = None
    ordering: ClassVar[Sequence[str]] = ("id",)
    rows_share: ClassVar[str | None] = None

    # Set by list() before get_queryset() runs.
    parent: Any = None
    access: Access

    # --- who asks, and what the URL names ---------------------------------------------------

    @property
    def actor(self) -> User:
        """The caller, as the services' `actor`."""
        return signed_in(self.request)

    def fetch(self, action: Action | None = None) -> tuple[Any, Access]:
        """What the URL names and the caller's access to it (404 for non-members); with an
        `action`, 403 unless the caller's role allows it."""
        if self.fetcher is None:
            raise NotImplementedError(f"{type(self).__name__} names no fetcher")
        value = self.kwargs[self.lookup_url_kwarg]
        read = fetched_with_token(self.request, self.fetcher, value)
        if read is not None:  # read with the caller's token (api/auth.py): the same rows
            obj, access = self.fetcher(self.request.user, value, read=read)  # type: ignore[call-arg]
        else:
            obj, access = self.fetcher(self.request.user, value)
        if action is not None:
            access.ensure(action)
        return obj, access

    def current(self) -> tuple[Any, Access]:
        """The object as a GET shows it, fetched afresh (after a write, too)."""
        return self.fetch()

    def present(self, obj: Any, access: Access) -> Any:
        """The object as the client sees it."""
        return self.get_serializer(obj).data

    def present_current(self, stale: Versioned) -> Any:
        """The object as it stands now, for the `current` of a 412 (the exception handler); the
        URL names the object that went stale, so it is fetched as a GET would."""
        return self.present(*self.current())

    def tagged(self, obj: Any, access: Access, status: int = 200) -> Response:
        """`obj` presented, with its version as the ETag (what If-Match sends back)."""
        return Response(self.present(obj, access), status=status, headers=etag(obj))

    def retrieve(self, status: int = 200) -> Response:
        return self.tagged(*self.current(), status=status)

    # --- lists ------------------------------------------------------------------------------

    @property
    def paginator(self) -> CursorPage:
        if getattr(self, "_paginator", None) is None:
            self._paginator = CursorPage(self.ordering)
        return self._paginator

    def paginate_queryset(self, queryset: QuerySet | Sequence[Any]) -> list[Any]:
        rows = list(self.paginator.paginate_queryset(queryset, self.request, view=self))
        if self.rows_share:
            for row in rows:
                setattr(row, self.rows_share, self.parent)
        return rows

    def list(self) -> Response:
        """One page of `get_queryset()`, filtered by the query string, in `ordering`."""
        if self.fetcher is not None:
            self.parent, self.access = self.fetch()
        rows = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    # --- writes -----------------------------------------------------------------------------

    def read(
        self, serializer_class: type[serializers.Serializer], *, partial: bool = False
    ) -> dict[str, Any]:
        return read_input(serializer_class, self.request, partial=partial)

    def update(self, service: Callable[..., T], data: dict[str, Any], **target: Any) -> T:
        """`service(...)` changing the version the client names, which it must name (428)."""
        version = required_version(self.request, data)
        return service(actor=self.actor, version=version, **target, **data)

    def destroy(self, obj: Versioned, delete: Callable[[], object]) -> Response:
        """`delete()` (a service call) once the version the client names, if any, is `obj`'s."""
        services.check_version(obj, client_version(self.request, self.read(VersionedInput)))
        delete()
        return Response(status=204)

    @staticmethod
    def created(body: Any, url_name: str | None = None, **url_kwargs: Any) -> Response:
        """201, with the new object's address in Location when it has one."""
        headers = {"Location": reverse(url_name, kwargs=url_kwargs)} if url_name else None
        return Response(body, status=201, headers=headers)


def etag(obj: Any) -> Mapping[str, str]:
    return {"ETag": f'"{obj.version}"'}
