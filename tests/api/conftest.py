"""Fixtures for the API tests: clients acting as a given user, throttles reset between tests."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; one test's requests must not throttle the next's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def client_for():
    """client_for(user) → an APIClient authenticated as `user` (no token round trip)."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def errors_of(response) -> dict:
    body = response.json()
    assert set(body) >= {"detail", "errors"}, body
    return body["errors"]
