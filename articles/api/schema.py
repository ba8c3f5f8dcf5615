"""OpenAPI schema helpers (drf-spectacular): canonical paths and FilterSet query parameters."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from articles.filters import IdFilter, SinceFilter

API_PREFIX = "/api/v1/"


def canonical_api_paths(endpoints):
    """Preprocessing hook: the API's paths have no trailing slash (one is accepted, not needed),
    but a `/?$` route reads as `/x/` to the schema generator; list each route once, without it."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for path, path_regex, method, callback in endpoints:
        if path.startswith(API_PREFIX) and path.endswith("/"):
            path = path.rstrip("/")
        if (path, method) in seen:
            continue
        seen.add((path, method))
        kept.append((path, path_regex, method, callback))
    return kept


def filter_parameters(filterset_class: type[django_filters.FilterSet]) -> list[OpenApiParameter]:
    """The FilterSet's filters as documented query parameters (the views are plain APIViews)."""
    parameters = []
    for name, filter_ in filterset_class.base_filters.items():
        enum = None
        kind = OpenApiTypes.STR
        if isinstance(filter_, SinceFilter):
            kind = OpenApiTypes.DATETIME
        elif isinstance(filter_, django_filters.ChoiceFilter):
            enum = [value for value, _ in filter_.extra["choices"]]
        description = str(filter_.label or "")
        if isinstance(filter_, IdFilter) and not description:
            description = "An id."
        parameters.append(
            OpenApiParameter(
                name,
                kind,
                OpenApiParameter.QUERY,
                required=False,
                description=description,
                enum=enum,
            )
        )
    return parameters
