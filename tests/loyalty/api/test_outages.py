"""The API keeps serving when the cache or the broker is down (DECISIONS: fail open, log, never a 500).

- Cache: the rate limit's counters are unreachable. Requests are served unlimited for a while, the outage is
  logged once at ERROR, the cache is asked again after RATE_LIMIT_RETRY_SECONDS, and the limit is back once
  it answers.
- Broker: a task queued with `task_enqueue` is sent after the request's transaction commits; a broker that is
  down is logged, and the purchase is written and answered as usual.
"""

import logging
import time

import pytest
from celery import Celery
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.test import override_settings

from loyalty.api import base as api_base
from loyalty.earning import api as transactions_api
from loyalty.earning.models import Transaction
from loyalty.ledger.models import LedgerEntry
from loyalty.queueing import task_enqueue
from tests.support.api import purchase

CLOSED_PORT_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
    }
}


@pytest.fixture(autouse=True)
def _no_outage_remembered():
    api_base.throttle_outages_clear()
    cache.clear()
    yield
    api_base.throttle_outages_clear()
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    """The throttle's monotonic clock, moved by hand: `clock.now += 31`."""

    class Clock:
        now = 1000.0

    monkeypatch.setattr(api_base.ApiKeyThrottle, "clock", staticmethod(lambda: Clock.now))
    return Clock


def errors_logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


# --- cache ----------------------------------------------------------------------------------------------


def test_with_the_redis_cache_down_requests_are_served_and_the_outage_logged_once(api, member, caplog):
    with override_settings(CACHES=CLOSED_PORT_REDIS):
        reads = [api.get(f"/api/v1/members/{member.public_id}") for _ in range(12)]
        written = api.post("/api/v1/transactions", purchase(member, external_id="o-1", total="25.00"))

    assert [r.status_code for r in reads] == [200] * 12
    assert written.status_code == 201 and written.json()["points"] == 25
    assert LedgerEntry.objects.filter(account__member=member, kind="earn").values_list("points", flat=True).get() == 25
    [error] = errors_logged(caplog)  # one line for all 13 requests, no traceback per request
    assert error.startswith("rate limit OFF") and "127.0.0.1:1" in error


def test_while_the_cache_is_down_it_is_not_asked_again_until_the_retry_time(api, member, clock, monkeypatch):
    calls = []

    def unreachable(self, key, delta=1):
        calls.append(key)
        raise ConnectionError("cache down")

    monkeypatch.setattr(LocMemCache, "incr", unreachable)
    assert api.get(f"/api/v1/members/{member.public_id}").status_code == 200
    assert api.get(f"/api/v1/members/{member.public_id}").status_code == 200
    assert len(calls) == 1  # the second request did not wait for a cache known to be down

    clock.now += api_base.RATE_LIMIT_RETRY_SECONDS + 1
    assert api.get(f"/api/v1/members/{member.public_id}").status_code == 200
    assert len(calls) == 2


def test_the_limit_is_back_once_the_cache_answers_again(api, member, clock, monkeypatch, caplog):
    monkeypatch.setattr(api_base.ApiKeyThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    real_incr = LocMemCache.incr

    def unreachable(self, key, delta=1):
        raise ConnectionError("cache down")

    monkeypatch.setattr(LocMemCache, "incr", unreachable)
    down = [api.get(f"/api/v1/members/{member.public_id}").status_code for _ in range(5)]
    monkeypatch.setattr(LocMemCache, "incr", real_incr)
    still_open = api.get(f"/api/v1/members/{member.public_id}").status_code  # not asked before the retry time
    clock.now += api_base.RATE_LIMIT_RETRY_SECONDS + 1
    back = [api.get(f"/api/v1/members/{member.public_id}").status_code for _ in range(3)]

    assert down == [200] * 5 and still_open == 200
    assert back == [200, 200, 429]
    assert len(errors_logged(caplog)) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "rate limit" in r.getMessage()]


# --- broker ---------------------------------------------------------------------------------------------

# Apps of the test's own, so the project's app and its connection pool are left alone.
broker_down = Celery("h2-broker-down", broker="amqp://guest:guest@127.0.0.1:1//", set_as_current=False)
broker_down.conf.broker_connection_timeout = 1.0
in_memory = Celery("h2-in-memory", broker="memory://", set_as_current=False)
in_memory.conf.task_default_queue = "h2-queueing-test"


@broker_down.task(name="tests.after_purchase")
def after_purchase_unqueueable(transaction_id: str) -> None: ...


@in_memory.task(name="tests.after_purchase")
def after_purchase(transaction_id: str) -> None: ...


def queued_messages() -> list[dict]:
    with in_memory.connection_for_read() as connection:
        queue = connection.SimpleQueue("h2-queueing-test")
        bodies = []
        while queue.qsize():
            message = queue.get(timeout=1)
            bodies.append(message.headers)
            message.ack()
        queue.close()
        return bodies


@pytest.fixture
def purchase_queues(monkeypatch):
    """Make the transaction endpoint queue `task` for each new purchase, as the coming engagement work will."""

    def install(task) -> None:
        real = transactions_api.transaction_create

        def create_and_queue(**kwargs):
            purchase = real(**kwargs)
            task_enqueue(task, args=(purchase.transaction.public_id,))
            return purchase

        monkeypatch.setattr(transactions_api, "transaction_create", create_and_queue)

    return install


@pytest.mark.django_db(transaction=True)  # the request's transaction really commits, so on_commit runs in it
def test_a_purchase_is_written_and_answered_though_its_task_cannot_be_queued(api, member, purchase_queues, caplog):
    purchase_queues(after_purchase_unqueueable)

    started = time.monotonic()
    r = api.post("/api/v1/transactions", purchase(member, external_id="o-1", total="25.00"))
    elapsed = time.monotonic() - started

    assert r.status_code == 201 and r.json()["points"] == 25
    assert Transaction.objects.filter(external_id="o-1").count() == 1
    assert LedgerEntry.objects.filter(account__member=member, kind="earn").values_list("points", flat=True).get() == 25
    [error] = errors_logged(caplog)
    assert error.startswith("could not queue task tests.after_purchase: the broker is unreachable")
    assert elapsed < 5


@pytest.mark.django_db(transaction=True)
def test_a_task_is_queued_only_after_the_request_commits(api, member, purchase_queues):
    queued_messages()  # empty the queue
    purchase_queues(after_purchase)

    r = api.post("/api/v1/transactions", purchase(member, external_id="o-1", total="25.00"))

    [message] = queued_messages()
    assert r.status_code == 201
    assert (message["task"], message["argsrepr"]) == ("tests.after_purchase", repr((r.json()["id"],)))


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_in_a_transaction_that_rolls_back_is_never_sent():
    queued_messages()

    with pytest.raises(RuntimeError), transaction.atomic():
        task_enqueue(after_purchase, args=("txn_x",))
        assert queued_messages() == []  # not before the commit either
        raise RuntimeError

    assert queued_messages() == []
