"""Fixtures for the security tests: two fully populated corpora and clients for every actor."""

import pytest
from django.core.cache import cache

from .matrix import build_worlds


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; one test's requests must not throttle the next's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def worlds(team):
    """(A, B): corpus A ("chips", blind) and corpus B ("other", oscar's), each with claims,
    annotations, evidence, a review, a relation, a comment, an assignment, trash and tokens."""
    return build_worlds(team)
