"""Request guards: oversize bodies get 413 before anything reads them; a lost database gives 503."""

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from annotator.middleware import DatabaseUnavailableMiddleware, server_error


def test_oversize_api_body_is_413_json(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/corpora", data=b"x" * 1001, content_type="application/json")
    assert response.status_code == 413
    assert "1,001 bytes" in response.json()["detail"]


def test_oversize_page_body_is_413_text(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/accounts/login/", data=b"x" * 5000, content_type="text/plain")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")


def test_imports_have_their_own_larger_limit(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.IMPORT_MAX_BYTES = 4000
    small_enough = client.post(
        "/api/v1/corpora/x/import", data=b"x" * 2000, content_type="text/plain"
    )
    assert small_enough.status_code != 413
    too_big = client.post("/api/v1/corpora/x/import", data=b"x" * 4001, content_type="text/plain")
    assert too_big.status_code == 413


@pytest.mark.parametrize("path", ["/api/v1/corpora", "/corpora/x/"])
def test_database_errors_become_503(path):
    request = RequestFactory().get(path)
    middleware = DatabaseUnavailableMiddleware(lambda r: None)
    response = middleware.process_exception(
        request, OperationalError("server closed the connection")
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"unavailable" in response.content
    assert middleware.process_exception(request, ValueError("other")) is None


def test_handler500_turns_a_database_outage_into_503():
    request = RequestFactory().get("/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    try:
        raise KeyError("bug")
    except KeyError:
        response = server_error(request)
    assert response.status_code == 500


def test_htmx_requests_with_an_expired_session_navigate_to_the_login_page(client):
    plain = client.get("/corpora/chips/")
    assert plain.status_code == 302 and plain["Location"].startswith("/accounts/login/")
    htmx = client.get("/corpora/chips/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200
    assert htmx["HX-Redirect"].startswith("/accounts/login/?next=")
    assert htmx.content == b""


def test_unknown_api_paths_answer_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
