"""Project-wide request guards: body size limits (413), a clean 503 when the database is down,
and the error pages (403, 404, 500) in the app's layout."""

from __future__ import annotations

import logging
import re
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

logger = logging.getLogger("annotator")

IMPORT_PATH_SUFFIXES = ("/import", "/import/")
REFUSALS = (PermissionDenied, Http404, BadRequest, SuspiciousOperation)


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


ROLE_NEEDED = re.compile(r"it needs (owner|curator|annotator|viewer)")
ROLE_HELD = re.compile(r"in this corpus \((owner|curator|annotator|viewer)\)")


def _back_link(request: HttpRequest) -> str:
    """The page the person came from, when it is one of ours (never another site)."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return ""


def error_page(
    request: HttpRequest, status: int, title: str, message: str, **extra: Any
) -> HttpResponse:
    """An error in the app's own layout for people, the API's JSON shape for API clients, and
    a short text for htmx swaps (the page shows it as a message)."""
    if _wants_json(request):
        return JsonResponse({"detail": message, "errors": {}}, status=status)
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    context = {
        "status": status,
        "title": title,
        "message": message,
        "back": _back_link(request),
        **extra,
    }
    try:
        return render(request, "error.html", context, status=status)
    except Exception:  # the layout itself failed (e.g. while handling a 500): plain text
        logger.exception("Could not render the error page for %s", request.path)
        return _plain_or_json(request, status, message)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: says which role the action needs and which the person has."""
    message = str(exception or "") or "You may not do this here."
    needed, held = ROLE_NEEDED.search(message), ROLE_HELD.search(message)
    return error_page(
        request,
        403,
        "Not allowed",
        message,
        needed=needed.group(1) if needed else "",
        role=held.group(1) if held else "",
    )


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
    return error_page(
        request,
        500,
        "Something went wrong",
        "Something went wrong on our side. It has been logged; please retry later.",
    )


class RefusalLogFilter(logging.Filter):
    """A refused request (403, 404, 400) is one log line: drop the traceback Django attaches
    to PermissionDenied and friends. Real errors (500) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], REFUSALS):
            record.exc_info = None
            record.exc_text = None
        return True


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
    """handler404: API clients get the API's JSON error shape, people the page in the layout.
    The message never says whether the thing exists elsewhere (non-members get 404 too)."""
    if _wants_json(request):
        return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)
    return error_page(
        request,
        404,
        "Not found",
        "There is nothing here, or it is in a corpus you are not a member of.",
    )


# What a view or template can change in a response's policy (django-csp's decorators).
_CSP_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_csp_policies: tuple[Any, Any, str, str] | None = None


def _settings_policies() -> tuple[str, str]:
    """The Content-Security-Policy and its report-only twin as the settings give them, built
    once per settings object (tests that override the settings get theirs)."""
    global _csp_policies
    config = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
    cached = _csp_policies
    if cached is None or cached[0] is not config or cached[1] is not report_only:
        cached = (config, report_only, build_policy(), build_policy(report_only=True))
        _csp_policies = cached
    return cached[2], cached[3]


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's middleware, without building the same policy string twice per response
    (about a quarter of a millisecond on the loaded test machine, on every request): a response
    no decorator changed, whose request used no nonce, gets the settings' policies built once.
    Anything else (a decorator, a nonce, DEBUG) goes through django-csp's own code.
    tests/test_csp_middleware.py compares the headers with django-csp's."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(getattr(response, name, None) is not None for name in _CSP_PER_RESPONSE)
        ):
            return super().process_response(request, response)
        policy, report_only = _settings_policies()
        for header, value, exempt, setting in (
            (HEADER, policy, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (
                HEADER_REPORT_ONLY,
                report_only,
                "_csp_exempt_ro",
                "CONTENT_SECURITY_POLICY_REPORT_ONLY",
            ),
        ):
            if not value or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = value
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
