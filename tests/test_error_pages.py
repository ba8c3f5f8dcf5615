"""Error pages in the app's layout (403 naming the role needed, 404, 500), and one log line for
a refused request."""

import io
import logging

import pytest
from django.test import Client
from django.urls import reverse

from annotator.middleware import RefusalLogFilter

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_403_is_in_the_layout_and_names_the_role_needed(team):
    corpus_url = reverse("corpus", args=[team.corpus.slug])
    response = _client(team.annotator).get(
        reverse("corpus-settings", args=[team.corpus.slug]),
        HTTP_REFERER=f"http://testserver{corpus_url}",
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="topbar"' in page  # the app's layout, not a bare text
    assert "This needs the role <strong>owner</strong>" in page
    assert "yours is <strong>annotator</strong>" in page
    assert f'href="http://testserver{corpus_url}"' in page  # back where they came from


def test_403_never_links_back_to_another_site(team):
    response = _client(team.annotator).get(
        reverse("corpus-settings", args=[team.corpus.slug]), HTTP_REFERER="https://evil.example/x"
    )
    assert response.status_code == 403
    assert "evil.example" not in response.content.decode()


def test_404_is_in_the_layout_and_leaks_nothing(team):
    response = _client(team.outsider).get(reverse("corpus", args=[team.corpus.slug]))
    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="topbar"' in page
    assert "corpus you are not a member of" in page
    assert team.corpus.name not in page


def test_api_errors_stay_json(team):
    response = _client(team.outsider).get(f"/api/v1/corpora/{team.corpus.slug}")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_htmx_refusals_are_a_short_text(team):
    response = _client(team.annotator).get(
        reverse("corpus-settings", args=[team.corpus.slug]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert "needs owner" in response.content.decode()


def test_500_is_in_the_layout(team, rf):
    from annotator.middleware import server_error

    request = rf.get("/somewhere")
    request.user = team.annotator
    response = server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page and 'class="topbar"' in page


def test_a_refused_request_is_one_log_line_without_a_traceback(team):
    """The console handler (with the settings' filter) writes one line for a 403."""
    console = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RefusalLogFilter) for f in h.filters)
    )
    stream = io.StringIO()
    old = console.setStream(stream)
    try:
        response = _client(team.annotator).get(reverse("corpus-settings", args=[team.corpus.slug]))
    finally:
        console.setStream(old)
    assert response.status_code == 403
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Forbidden" in lines[0] and "Traceback" not in stream.getvalue()


def test_the_filter_keeps_tracebacks_of_real_errors():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, sys.exc_info())
    assert RefusalLogFilter().filter(record) and record.exc_info is not None
