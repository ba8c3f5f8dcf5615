"""annotator.middleware.CSPMiddleware builds the settings' policy once instead of on every
response: its headers must be django-csp's for every kind of response (plain, exempt, changed by
a decorator, with a nonce, under excluded prefixes, report-only, other settings)."""

import re

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from annotator.middleware import CSPMiddleware

POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}}


def _plain(request):
    return HttpResponse("ok")


def _with_header(request):
    response = HttpResponse("ok")
    response[HEADER] = "default-src 'none'"
    return response


def _nonce(request):
    return HttpResponse(str(request.csp_nonce))


VIEWS = {
    "plain": _plain,
    "exempt": csp_exempt()(_plain),
    "exempt report-only": csp_exempt(REPORT_ONLY=True)(_plain),
    "updated": csp_update({"img-src": ["data:"]})(_plain),
    "replaced": csp_replace({"default-src": ["'none'"]})(_plain),
    "header already set": _with_header,
    "nonce": _nonce,
}


def _headers(middleware_class, view, path):
    """The two headers (nonces replaced by a mark), and whether a nonce asked for after the
    response is refused."""
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    try:
        str(request.csp_nonce)
        late = "given"
    except CSPNonceError:
        late = "refused"
    return (
        *(
            re.sub("'nonce-[^']+'", "'nonce-N'", h) if h else h
            for h in (response.get(HEADER), response.get(HEADER_REPORT_ONLY))
        ),
        late,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"CONTENT_SECURITY_POLICY": POLICY},
        {"CONTENT_SECURITY_POLICY": {**POLICY, "EXCLUDE_URL_PREFIXES": ["/api/"]}},
        {"CONTENT_SECURITY_POLICY_REPORT_ONLY": POLICY},
        {"CONTENT_SECURITY_POLICY": None, "CONTENT_SECURITY_POLICY_REPORT_ONLY": POLICY},
        {"DEBUG": True},
    ],
)
@pytest.mark.parametrize("name", VIEWS)
@pytest.mark.parametrize("path", ["/", "/api/v1/corpora"])
def test_the_headers_are_django_csps(settings, overrides, name, path):
    for setting, value in overrides.items():
        setattr(settings, setting, value)
    view = VIEWS[name]
    assert _headers(CSPMiddleware, view, path) == _headers(DjangoCSPMiddleware, view, path)


def test_the_policy_is_built_once_per_settings(settings, monkeypatch):
    from annotator import middleware

    built = []
    real = middleware.build_policy
    monkeypatch.setattr(middleware, "build_policy", lambda **kw: built.append(kw) or real(**kw))
    monkeypatch.setattr(middleware, "_csp_policies", None)
    for _ in range(3):
        _headers(CSPMiddleware, _plain, "/")
    assert len(built) == 2  # the policy and the report-only one, once
    settings.CONTENT_SECURITY_POLICY = POLICY
    assert _headers(CSPMiddleware, _plain, "/") == _headers(DjangoCSPMiddleware, _plain, "/")
    assert "script-src 'self'" in _headers(CSPMiddleware, _plain, "/")[0]
    assert len(built) == 4
