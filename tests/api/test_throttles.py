"""The per-user API limit: a counter per user and fixed window, 429 with Retry-After past it."""

import pytest
from django.core.cache import cache

from articles.api.throttles import UserRateThrottle

from ..factories import fresh_throttle_window

pytestmark = pytest.mark.django_db


class ThreePerMinute(UserRateThrottle):
    rate = "3/minute"


def test_the_limit_comes_at_the_rate_and_the_next_window_starts_afresh(team, rf):
    from rest_framework.request import Request

    request = Request(rf.get("/api/v1/corpora"))
    request.user = team.annotator
    clock = [600.0]
    ThreePerMinute.timer = staticmethod(lambda: clock[0])
    try:
        answers = [ThreePerMinute().allow_request(request, None) for _ in range(4)]
        assert answers == [True, True, True, False]
        throttle = ThreePerMinute()
        clock[0] = 630.0
        assert throttle.allow_request(request, None) is False
        assert throttle.wait() == pytest.approx(30.0)
        other = Request(rf.get("/api/v1/corpora"))
        other.user = team.annotator2
        assert ThreePerMinute().allow_request(other, None) is True  # counted per user
        clock[0] = 660.0
        assert ThreePerMinute().allow_request(request, None) is True
    finally:
        del ThreePerMinute.timer


def test_a_counter_is_one_small_value_per_window(team, rf):
    from rest_framework.request import Request

    request = Request(rf.get("/api/v1/corpora"))
    request.user = team.annotator
    throttle = ThreePerMinute()
    for _ in range(2):
        throttle.allow_request(request, None)
    assert cache.get(throttle.key) == 2


def test_the_api_answers_429_with_retry_after_past_the_user_limit(team, client_for, settings):
    from rest_framework.settings import api_settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "2/minute"}
    UserRateThrottle.THROTTLE_RATES = rates
    try:
        client = client_for(team.annotator)
        fresh_throttle_window(needed=5)
        statuses = [client.get("/api/v1/corpora").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        response = client.get("/api/v1/corpora")
        assert 0 < int(response["Retry-After"]) <= 60
    finally:
        del UserRateThrottle.THROTTLE_RATES


class ThousandPerMinute(UserRateThrottle):
    rate = "1000/minute"


def test_a_process_reports_its_requests_in_batches_of_one_percent(team, rf):
    from rest_framework.request import Request

    from articles.api import throttles

    request = Request(rf.get("/api/v1/corpora"))
    request.user = team.annotator
    throttles._counts.clear()
    throttle = ThousandPerMinute()
    for _ in range(9):
        assert throttle.allow_request(request, None)
    assert cache.get(throttle.key) is None  # nothing reported yet
    assert throttle.allow_request(request, None)
    assert cache.get(throttle.key) == 10
    # Another process (its own local counts) adds to the same shared count.
    throttles._counts.clear()
    for _ in range(10):
        ThousandPerMinute().allow_request(request, None)
    assert cache.get(throttle.key) == 20
    # Past the limit, whichever process asks.
    cache.set(throttle.key, 995)
    answers = [ThousandPerMinute().allow_request(request, None) for _ in range(20)]
    assert answers[-1] is False and answers[0] is True
