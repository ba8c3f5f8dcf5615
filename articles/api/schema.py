"""OpenAPI schema helpers (drf-spectacular): canonical paths, FilterSet query parameters, and
the error responses the handlers document."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from drf_spectacular.plumbing import build_basic_type, build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

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


def filter_parameters(filterset_class: type[django_filters.FilterSet]) -> list[dict[str, Any]]:
    """The FilterSet's filters as documented query parameters (base.FilterSetBackend's schema)."""
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
            build_parameter_type(
                name=name,
                schema=cast(dict[str, Any], build_basic_type(kind)),
                location=OpenApiParameter.QUERY,
                required=False,
                description=description,
                enum=enum,
            )
        )
    return parameters


# Error responses the handlers document (the body is exceptions' one error shape).
ERRORS = {
    400: OpenApiResponse(description="Invalid input; `errors` names each bad field."),
    403: OpenApiResponse(description="Your role in the corpus does not allow this."),
    404: OpenApiResponse(description="Unknown, or not in one of your corpora."),
}
STALE = {
    412: OpenApiResponse(description="Stale version; `current` holds the object as it is."),
    428: OpenApiResponse(description="No version given: send If-Match or `version`."),
}
CONFLICT = {409: OpenApiResponse(description="It exists already.")}
