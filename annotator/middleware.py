"""Project-wide request guards: body size limits (413) and a clean 503 when the database is down."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

logger = logging.getLogger("annotator")

IMPORT_PATH_SUFFIXES = ("/import", "/import/")


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _plain_or_json(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class BodySizeLimitMiddleware:
    """Refuses a request body over the limit with 413 before anything reads it.

    Imports may be large (IMPORT_MAX_BYTES); every other request is capped at
    DATA_UPLOAD_MAX_MEMORY_SIZE. Django's own check answers 400, which hides the reason.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain_or_json(request, 400, "Content-Length is not a number.")
        is_import = request.path.endswith(IMPORT_PATH_SUFFIXES)
        limit = settings.IMPORT_MAX_BYTES if is_import else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return _plain_or_json(
                request,
                413,
                f"The request body is {length:,} bytes; the limit here is {limit:,} bytes.",
            )
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A lost database connection answers 503 with a plain message instead of a 500 page.

    Django drops the broken connection at the end of the request and CONN_HEALTH_CHECKS makes the
    next request open a fresh one, so the app recovers by itself once the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning(
                "Database unavailable for %s %s: %s", request.method, request.path, exception
            )
            response = _plain_or_json(
                request,
                503,
                "The database is unavailable for a moment. Nothing was changed; please retry.",
            )
            response["Retry-After"] = "5"
            return response
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage outside a view (e.g. saving the session) is still a 503."""
    import sys

    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        response = _plain_or_json(
            request, 503, "The database is unavailable for a moment. Please retry."
        )
        response["Retry-After"] = "5"
        return response
    return _plain_or_json(
        request, 500, "Something went wrong on our side. It has been logged; please retry later."
    )


class HtmxLoginRedirectMiddleware:
    """When a session expires, an htmx request would swap the login page into a fragment (say a
    comment thread that refreshes itself). Send htmx to the login page as a full navigation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response.get("Location", "").startswith(resolve_url(settings.LOGIN_URL))
        ):
            return HttpResponseClientRedirect(response["Location"])
        return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: API clients get the API's JSON error shape, people get the HTML page."""
    if _wants_json(request):
        return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
