"""Passwords are stored as Argon2id at OWASP's parameters (annotator/hashers.py); accounts hashed
before with PBKDF2 still log in, through the form and the token endpoint, and are stored as
Argon2id from that login on. (The suite itself hashes with MD5 for speed: these tests put the
production list back.)"""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import (
    PBKDF2PasswordHasher,
    check_password,
    identify_hasher,
    make_password,
)
from django.contrib.auth.models import User
from django.test import Client

from annotator.hashers import Argon2idPasswordHasher

PASSWORD = "a-long-enough-pass-17"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = django_settings.PRODUCTION_PASSWORD_HASHERS
    return settings


def test_the_production_list_starts_with_argon2id_and_keeps_pbkdf2():
    hashers = django_settings.PRODUCTION_PASSWORD_HASHERS
    assert hashers[0] == "annotator.hashers.Argon2idPasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in hashers
    # The suite's fast hasher is the tests' alone.
    assert not any("MD5" in name for name in hashers)


def test_a_new_password_is_argon2id_at_owasp_parameters(production_hashers):
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$"), encoded
    assert isinstance(identify_hasher(encoded), Argon2idPasswordHasher)
    assert check_password(PASSWORD, encoded)
    assert not check_password(PASSWORD + "x", encoded)
    # A fresh salt each time.
    assert make_password(PASSWORD) != encoded


def test_argon2_hashes_at_other_costs_verify_and_are_marked_for_update(production_hashers):
    heavier = "argon2" + _argon2(PASSWORD, memory_cost=102400, parallelism=8)
    assert check_password(PASSWORD, heavier)
    assert Argon2idPasswordHasher().must_update(heavier)
    assert not Argon2idPasswordHasher().must_update(make_password(PASSWORD))


def _argon2(password: str, *, memory_cost: int, parallelism: int) -> str:
    import argon2

    return argon2.PasswordHasher(
        time_cost=2, memory_cost=memory_cost, parallelism=parallelism, type=argon2.Type.ID
    ).hash(password)


def _pbkdf2_user(username: str) -> User:
    user = User.objects.create(username=username)
    # A PBKDF2 hash as Django's default made them (fewer iterations: the test's time).
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "fixedsalt0123456", iterations=1000)
    user.save(update_fields=["password"])
    return user


@pytest.mark.django_db
def test_a_pbkdf2_account_logs_in_through_the_form_and_is_rehashed(production_hashers):
    user = _pbkdf2_user("paula")
    client = Client()
    response = client.post("/accounts/login/", {"username": "paula", "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    assert response.wsgi_request.user.is_authenticated
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert check_password(PASSWORD, user.password)
    # And logs in again with the new hash.
    again = Client().post("/accounts/login/", {"username": "paula", "password": PASSWORD})
    assert again.status_code == 302
    assert again.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_a_pbkdf2_account_gets_a_token_and_is_rehashed(production_hashers):
    user = _pbkdf2_user("tomas")
    response = Client().post(
        "/api/v1/auth/token",
        {"username": "tomas", "password": PASSWORD, "name": "laptop"},
        content_type="application/json",
    )
    assert response.status_code in (200, 201), response.content[:500]
    assert response.json()["token"]
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"


@pytest.mark.django_db
def test_a_wrong_password_is_refused_and_leaves_the_hash(production_hashers):
    user = _pbkdf2_user("wanda")
    before = user.password
    response = Client().post("/accounts/login/", {"username": "wanda", "password": "wrong-one"})
    assert response.status_code == 200  # the form again, with its error
    assert not response.wsgi_request.user.is_authenticated
    user.refresh_from_db()
    assert user.password == before
