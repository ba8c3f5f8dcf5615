"""Sessions and tokens: CSRF on every cookie-authenticated write, login and token endpoints
throttled against guessing, API throttling, tokens only in the Authorization header and never in
URLs or logs, revocation that takes effect at once, and no way to register."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from articles.models import ApiToken
from tests.factories import PASSWORD, fresh_throttle_window

from .matrix import (
    MATRIX,
    OK,
    changes,
    fingerprint,
    isolated,
    send,
    url_of,
    verdict,
)

pytestmark = pytest.mark.django_db

WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Endpoints a session cookie does not authenticate at all: they take a token (or credentials).
TOKEN_ONLY = {("api-token", "DELETE"), ("api-logout", "POST")}
CREDENTIALS_EXCHANGE = {("api-token", "POST")}  # no session involved: nothing to forge


def _allowed_actor(rule) -> str:
    return next(a for a in ("owner", "curator", "annotator", "viewer") if a in rule.allowed)


def _session_client(user, *, api: bool) -> Client:
    client = (APIClient if api else Client)(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user)
    return client


def _csrf_token(client: Client) -> str:
    client.get(reverse("home"))
    return client.cookies["csrftoken"].value


# --- CSRF --------------------------------------------------------------------------------


def test_every_cookie_authenticated_write_needs_the_csrf_token(worlds):
    """Every write of the matrix, pages and API alike, sent with a valid session cookie by a
    member allowed to make it: without the CSRF token 403 and nothing changes; with it, through."""
    world, _ = worlds
    writes = [
        (name, route, method, call)
        for name, route in MATRIX.items()
        for method, call in route.calls.items()
        if method in WRITES and (name, method) not in CREDENTIALS_EXCHANGE
    ]
    clients: dict[tuple[str, bool], tuple[Client, str]] = {}
    for _, route, _, call in writes:
        key = (_allowed_actor(call.rule), route.api)
        if key not in clients:
            client = _session_client(world.users[key[0]], api=route.api)
            clients[key] = (client, _csrf_token(client))
    baseline = fingerprint()
    failures = []
    checked = 0
    for name, route, method, call in writes:
        url = url_of(name, world)
        actor = _allowed_actor(call.rule)
        client, token = clients[(actor, route.api)]

        def forged(client=client, route=route, method=method, call=call, url=url):
            response = send(client, route, method, call, world, url)
            return response, changes(baseline, fingerprint())

        def genuine(client=client, route=route, method=method, call=call, url=url, token=token):
            headers = {"HTTP_X_CSRFTOKEN": token}
            return send(client, route, method, call, world, url, headers=headers)

        response, changed = isolated(forged)
        checked += 1
        expected = 401 if (name, method) in TOKEN_ONLY else 403
        where = f"{method} {url} [{name}] as {actor} without the CSRF token"
        if response.status_code != expected:
            failures.append(f"{where}: {response.status_code}, not {expected}")
        if changed:
            failures.append(f"{where} changed {changed}")
        if (name, method) in TOKEN_ONLY:
            continue
        problem = verdict(isolated(genuine), api=route.api, expected=OK, call=call)
        if problem:
            failures.append(f"{method} {url} [{name}] as {actor} with the token: {problem}")
    assert checked > 40
    assert not failures, "\n".join(failures)


# --- Throttling ----------------------------------------------------------------------------


def _login(client: Client, username: str, password: str, address: str):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_login_locks_a_username_and_address_after_repeated_failures(team, settings):
    client = Client()
    address = "203.0.113.7"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "anna", "wrong password", address).status_code == 200
    assert _login(client, "anna", "wrong password", address).status_code == 429
    # Locked: even the right password is refused, and no session is opened.
    locked = _login(client, "anna", PASSWORD, address)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Keyed on the pair: the same user elsewhere, or another user here, still get in.
    assert _login(Client(), "anna", PASSWORD, "198.51.100.2").status_code == 302
    assert _login(Client(), "carmen", PASSWORD, address).status_code == 302
    # After the cool-off the right password works again.
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    unlocked = _login(client, "anna", PASSWORD, address)
    assert unlocked.status_code == 302
    assert client.session["_auth_user_id"] == str(team.annotator.pk)


def test_token_endpoint_counts_failures_with_the_login_page(team, settings):
    api = APIClient()
    url = reverse("api-token")
    address = "203.0.113.8"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = api.post(url, {"username": "anna", "password": "guess"}, REMOTE_ADDR=address)
        assert wrong.status_code == 401
    response = api.post(url, {"username": "anna", "password": "guess"}, REMOTE_ADDR=address)
    assert response.status_code == 429
    right = api.post(url, {"username": "anna", "password": PASSWORD}, REMOTE_ADDR=address)
    assert right.status_code == 429
    assert right.json()["detail"]
    assert "token" not in right.json()
    assert not ApiToken.objects.filter(user=team.annotator).exists()
    # The lock is shared with the login page: same user, same address.
    assert _login(Client(), "anna", PASSWORD, address).status_code == 429


def test_a_forged_forwarded_for_header_does_not_escape_the_rate_limit(team):
    """Without a trusted proxy in front, X-Forwarded-For is the client's own word: a new address
    written there for every try must not reset the count."""
    api = APIClient()
    url = reverse("api-token")
    statuses = [
        api.post(
            url,
            {"username": f"nobody{i}", "password": "x"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


def test_token_endpoint_has_its_own_rate_limit(team):
    """Even with different usernames (no lockout per user), an address gets a few tries a minute."""
    api = APIClient()
    url = reverse("api-token")
    statuses = [
        api.post(
            url, {"username": f"nobody{i}", "password": "x"}, REMOTE_ADDR="203.0.113.9"
        ).status_code
        for i in range(12)
    ]
    assert statuses[0] == 401
    assert 429 in statuses
    throttled = statuses.index(429)
    assert set(statuses[throttled:]) == {429}
    assert throttled <= 10
    response = api.post(url, {"username": "anna", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert response.has_header("Retry-After")


def test_api_requests_are_throttled_per_user(team, monkeypatch):
    rates = {**UserRateThrottle.THROTTLE_RATES, "user": "3/minute"}
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)
    api = APIClient()
    api.force_authenticate(team.annotator)
    fresh_throttle_window(needed=5)
    statuses = [api.get(reverse("api-corpora")).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    other = APIClient()
    other.force_authenticate(team.viewer)
    assert other.get(reverse("api-corpora")).status_code == 200


# --- Tokens ----------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_in_the_body_never_in_a_url(team):
    client = Client()
    client.force_login(team.annotator)
    response = client.post(reverse("tokens"), {"name": "export script"})
    assert response.status_code == 200  # not a redirect: the key would have to travel in a URL
    assert not response.has_header("Location")
    assert response["Cache-Control"] == "no-store"
    key = response.context["key"]
    assert key and len(key) >= 32
    page = response.content.decode()
    assert page.count(key) >= 1
    for attribute in ('href="', 'src="', 'action="', "hx-get=", "hx-post="):
        for chunk in page.split(attribute)[1:]:
            assert key not in chunk.split('"', 1)[0], attribute
    assert ApiToken.objects.get(user=team.annotator).digest != key  # only a hash is stored
    assert key not in client.get(reverse("tokens")).content.decode()  # shown once

    api = APIClient()
    created = api.post(reverse("api-token"), {"username": "anna", "password": PASSWORD})
    assert created.status_code == 201
    assert not created.has_header("Location")
    assert created.json()["token"] not in created.get("Location", "")


@pytest.mark.parametrize("param", ["token", "auth_token", "access_token", "key"])
def test_a_token_in_the_query_string_does_not_authenticate(team, param):
    _, key = ApiToken.objects.create(user=team.annotator)
    api = APIClient()
    assert api.get(f"{reverse('api-corpora')}?{param}={key}").status_code == 401
    assert api.get(reverse("api-corpora"), HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_only_the_token_scheme_in_the_authorization_header_is_accepted(team):
    _, key = ApiToken.objects.create(user=team.annotator)
    api = APIClient()
    for header in (f"Bearer {key}", f"Basic {key}", key, f"Token {key}x", f"Token {key[:-1]}"):
        response = api.get(reverse("api-corpora"), HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header


def test_tokens_do_not_reach_the_logs(team, caplog):
    _, key = ApiToken.objects.create(user=team.annotator)
    api = APIClient(raise_request_exception=False)
    caplog.set_level(logging.DEBUG)
    api.get(reverse("api-corpora"), HTTP_AUTHORIZATION=f"Token {key}")
    api.get(reverse("api-corpus", args=["other"]), HTTP_AUTHORIZATION=f"Token {key}")  # 404
    api.get(reverse("api-corpus", args=["chips"]), HTTP_AUTHORIZATION=f"Token {key}x")  # 401
    api.post(reverse("api-token"), {"username": "anna", "password": PASSWORD})
    assert caplog.records  # the refusals were logged ...
    assert key not in caplog.text  # ... without the key
    assert key[:8] not in caplog.text
    assert PASSWORD not in caplog.text


def test_revoking_a_token_refuses_the_next_request(team):
    api = APIClient()
    corpora = reverse("api-corpora")
    keys = [
        api.post(reverse("api-token"), {"username": "anna", "password": PASSWORD}).json()["token"]
        for _ in range(3)
    ]
    for key in keys:
        assert api.get(corpora, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    # 1. DELETE /auth/token revokes the token it presents, and only that one.
    assert (
        api.delete(reverse("api-token"), HTTP_AUTHORIZATION=f"Token {keys[0]}").status_code == 204
    )
    assert api.get(corpora, HTTP_AUTHORIZATION=f"Token {keys[0]}").status_code == 401
    assert api.get(corpora, HTTP_AUTHORIZATION=f"Token {keys[1]}").status_code == 200
    # 2. POST /auth/logout.
    assert api.post(reverse("api-logout"), HTTP_AUTHORIZATION=f"Token {keys[1]}").status_code == 204
    assert api.get(corpora, HTTP_AUTHORIZATION=f"Token {keys[1]}").status_code == 401
    # 3. The tokens page.
    page = Client()
    page.force_login(team.annotator)
    (token,) = ApiToken.objects.filter(user=team.annotator)
    assert page.post(reverse("token-revoke", args=[token.pk])).status_code == 302
    assert api.get(corpora, HTTP_AUTHORIZATION=f"Token {keys[2]}").status_code == 401
    assert not ApiToken.objects.exists()


def test_a_deactivated_user_token_is_refused(team):
    _, key = ApiToken.objects.create(user=team.annotator)
    team.annotator.is_active = False
    team.annotator.save(update_fields=["is_active"])
    assert (
        APIClient().get(reverse("api-corpora"), HTTP_AUTHORIZATION=f"Token {key}").status_code
        == 401
    )


# --- Registration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/signup/",
        "/accounts/register/",
        "/signup/",
        "/register/",
        "/accounts/password_reset/",
        "/api/v1/auth/register",
        "/api/v1/users",
    ],
)
def test_there_is_no_way_to_register(db, path):
    client = Client()
    assert client.get(path).status_code == 404
    assert client.post(
        path, {"username": "mallory", "password1": "x", "password2": "x"}
    ).status_code in (
        404,
        401,
    )
