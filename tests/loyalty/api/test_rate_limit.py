"""The per-key rate limit is an atomic fixed-window counter: parallel requests never get more than the limit
through a window (DECISIONS). Here on the per-process cache; tests/concurrency/test_rate_limit_processes.py
runs several server processes against Redis."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from loyalty.api import base as api_base
from loyalty.api.base import ApiKeyThrottle
from loyalty.shops.models import ApiKey
from rewards.api import VoucherLookupThrottle

WINDOW_START = 1_800_000_000.0  # a multiple of 60: the start of a one-minute window


@pytest.fixture(autouse=True)
def _fresh_counts():
    api_base.throttle_outages_clear()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rate(monkeypatch):
    def set_(value: str, throttle=ApiKeyThrottle) -> None:
        monkeypatch.setattr(throttle, "THROTTLE_RATES", {**throttle.THROTTLE_RATES, throttle.scope: value})

    return set_


@pytest.fixture
def at(monkeypatch):
    """Freeze the throttle's wall clock at `at(seconds)`."""

    def set_(now: float) -> None:
        monkeypatch.setattr(ApiKeyThrottle, "timer", staticmethod(lambda: now))

    return set_


def request_with_key(pk: int) -> SimpleNamespace:
    return SimpleNamespace(auth=ApiKey(pk=pk), META={"REMOTE_ADDR": "127.0.0.1"})


def test_parallel_requests_get_exactly_the_limit_through(rate, at):
    rate("120/min")
    at(WINDOW_START + 10)
    request = request_with_key(1)
    barrier = threading.Barrier(16)

    def client(_: int) -> list[bool]:
        barrier.wait()
        return [ApiKeyThrottle().allow_request(request, None) for _ in range(30)]

    with ThreadPoolExecutor(16) as pool:
        answers = [allowed for batch in pool.map(client, range(16)) for allowed in batch]

    assert len(answers) == 480 and answers.count(True) == 120


def test_retry_after_is_the_time_left_in_the_window_and_the_next_window_starts_afresh(rate, at):
    rate("3/min")
    request = request_with_key(1)
    at(WINDOW_START + 15)
    first = [ApiKeyThrottle().allow_request(request, None) for _ in range(3)]
    refused = ApiKeyThrottle()

    assert first == [True] * 3
    assert refused.allow_request(request, None) is False and refused.wait() == 45
    at(WINDOW_START + 60)
    assert ApiKeyThrottle().allow_request(request, None) is True


def test_each_key_and_each_scope_counts_apart(rate, at):
    rate("1/min")
    rate("1/min", VoucherLookupThrottle)
    at(WINDOW_START)

    assert ApiKeyThrottle().allow_request(request_with_key(1), None) is True
    assert ApiKeyThrottle().allow_request(request_with_key(2), None) is True
    assert VoucherLookupThrottle().allow_request(request_with_key(1), None) is True
    assert ApiKeyThrottle().allow_request(request_with_key(1), None) is False
