"""API tokens: obtain with a password, use, revoke (API and the tokens page), throttling."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from articles.models import ApiToken, AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _token(client, username="anna", password=PASSWORD, **extra):
    return client.post(
        "/api/v1/auth/token", {"username": username, "password": password, **extra}, format="json"
    )


def _with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_obtain_use_and_revoke_a_token(team, anon):
    response = _token(anon, name="nightly export")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["expiry"] is None
    assert body["name"] == "nightly export"
    key = body["token"]
    stored = ApiToken.objects.get(user=team.annotator)
    assert key not in (stored.digest, stored.token_key)  # only a hash (and a short prefix) kept
    assert AuditEvent.objects.filter(verb="token.create", object_id=str(stored.pk)).exists()

    client = _with_key(key)
    corpora = client.get("/api/v1/corpora")
    assert corpora.status_code == 200
    assert [c["slug"] for c in corpora.json()["results"]] == ["chips"]
    stored.refresh_from_db()
    assert stored.last_used_at is not None

    assert client.delete("/api/v1/auth/token").status_code == 204
    after = client.get("/api/v1/corpora")
    assert after.status_code == 401  # revocation is immediate
    assert not ApiToken.objects.exists()


def test_logout_revokes_only_the_presented_token(team, anon):
    first = _token(anon).json()["token"]
    second = _token(anon).json()["token"]
    assert _with_key(first).post("/api/v1/auth/logout/").status_code == 204
    assert _with_key(first).get("/api/v1/corpora").status_code == 401
    assert _with_key(second).get("/api/v1/corpora").status_code == 200


def test_revoking_needs_a_token_not_a_session(team, client_for):
    session = APIClient()
    session.force_login(team.annotator)
    assert session.delete("/api/v1/auth/token").status_code == 401
    forced = client_for(team.annotator)  # authenticated, but presenting no token
    assert forced.post("/api/v1/auth/logout").status_code == 401


def test_token_writes_need_no_csrf_but_sessions_do(team):
    key = _token(APIClient()).json()["token"]
    with_token = APIClient(enforce_csrf_checks=True)
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    claim = with_token.post(
        f"/api/v1/articles/{team.article.pk}/claims", {"start": 0, "end": 4}, format="json"
    )
    assert claim.status_code == 201
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(team.annotator)
    refused = session.post(
        f"/api/v1/articles/{team.article.pk}/claims", {"start": 5, "end": 9}, format="json"
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_wrong_credentials_are_401_and_counted(team, anon):
    response = _token(anon, password="wrong")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == "Wrong username or password."
    assert _token(anon, username="nobody").status_code == 401
    team.annotator.is_active = False
    team.annotator.save()
    assert _token(anon).status_code == 401
    assert not ApiToken.objects.exists()


def test_repeated_failures_lock_the_account_out(team, anon, settings):
    assert settings.AXES_FAILURE_LIMIT < 10  # below the token throttle, so axes answers first
    codes = [_token(anon, password="guess").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert codes[:-1] == [401] * (settings.AXES_FAILURE_LIMIT - 1)
    assert codes[-1] == 429  # the failure that reaches the limit locks the account
    locked = _token(anon)  # even the right password, once locked out
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert "attempts" in locked.json()["detail"]
    assert not ApiToken.objects.exists()


def test_token_endpoint_is_throttled(team, anon):
    codes = [_token(anon, password="wrong", username=f"user{i}").status_code for i in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    throttled = _token(anon, username="x")
    assert throttled.json()["detail"]
    assert "Retry-After" in throttled


def test_token_request_validation(team, anon):
    response = anon.post("/api/v1/auth/token", {"username": "anna\x00"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}
    assert anon.post("/api/v1/auth/token", "{", content_type="application/json").status_code == 400


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Token ünïcode",
        "Token abc\x00def",
        "Token " + "f" * 64,
        "Token ../../",
    ],
)
def test_malformed_or_unknown_tokens_are_401(team, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/corpora")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_expired_token_is_refused(team, anon):
    key = _token(anon).json()["token"]
    ApiToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert _with_key(key).get("/api/v1/corpora").status_code == 401


# --- the tokens page -------------------------------------------------------------------------


def _csrf(client: Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


def test_tokens_page_creates_shows_once_lists_and_revokes(team):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(team.annotator)
    csrf = _csrf(browser, "/account/tokens/")

    refused = browser.post("/account/tokens/", {"name": "no csrf"})
    assert refused.status_code == 403
    assert not ApiToken.objects.exists()

    created = browser.post(
        "/account/tokens/", {"name": "lab server", "expires_in": "30", "csrfmiddlewaretoken": csrf}
    )
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    key = re.search(r'<code id="new-key">([0-9a-f]+)</code>', created.content.decode())[1]
    token = ApiToken.objects.get(user=team.annotator)
    assert token.name == "lab server"
    assert timedelta(days=29) < token.expiry - timezone.now() <= timedelta(days=30)
    assert _with_key(key).get("/api/v1/corpora").status_code == 200

    listing = browser.get("/account/tokens/").content.decode()
    assert "lab server" in listing
    assert key not in listing  # shown once only
    assert "never" not in listing.split("lab server")[1].split("</tr>")[0]  # last used is set

    revoke_url = f"/account/tokens/{token.pk}/revoke/"
    assert browser.post(revoke_url).status_code == 403  # CSRF again
    revoked = browser.post(revoke_url, {"csrfmiddlewaretoken": csrf})
    assert revoked.status_code == 302
    assert revoked["Location"] == "/account/tokens/"
    assert not ApiToken.objects.exists()
    assert _with_key(key).get("/api/v1/corpora").status_code == 401
    assert "revoked" in browser.get("/account/tokens/").content.decode()


def test_tokens_page_is_personal_and_needs_login(team):
    key = _token(APIClient(), name="anna-cron-job").json()["token"]
    token = ApiToken.objects.get()
    intruder = Client()
    intruder.force_login(team.annotator2)
    page = intruder.get("/account/tokens/").content.decode()
    assert "You have no API tokens." in page
    assert "anna-cron-job" not in page
    assert intruder.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert _with_key(key).get("/api/v1/corpora").status_code == 200
    anonymous = Client().get("/account/tokens/")
    assert anonymous.status_code == 302
    assert "login" in anonymous["Location"]


def test_tokens_page_validates_the_form(team):
    browser = Client()
    browser.force_login(team.annotator)
    for data in ({"name": ""}, {"name": "x", "expires_in": "7"}, {"name": "a\x00b"}):
        response = browser.post("/account/tokens/", data)
        assert response.status_code == 400  # the form again, with its errors
        assert 'class="errorlist"' in response.content.decode()
    assert not ApiToken.objects.exists()
