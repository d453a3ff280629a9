"""The rate limit holds across processes: gunicorn with 4 workers sharing Redis, 16 parallel clients, 300 requests
at API_RATE_LIMIT=120/min: exactly 120 through, the rest 429 with Retry-After in the error shape. (The throttle
that read and wrote back a list of timestamps let 188 through.) The same server's access log, in the format the
README gives, carries each request's X-Request-ID.

Needs Redis (REDIS_TEST_URL, default redis://127.0.0.1:6379/0; keys of this test only are touched) and gunicorn
(the test extra installs it). The server runs on the test database, so rows are committed (transaction=True).
"""

import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from django.db import connection
from django.test import override_settings

from loyalty.api import base as api_base
from loyalty.api.base import ApiKeyThrottle
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create
from members.models import Member
from members.services import member_enroll
from tests.support.workers import wait_for_no_other_connections

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = Path(__file__).resolve().parents[2]
GUNICORN = PROJECT / ".venv" / "bin" / "gunicorn"
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
PORT = int(os.environ.get("RATE_LIMIT_TEST_PORT", "18220"))
# The access log format the README gives for gunicorn (path without the query string: it may hold an email).
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"this test needs Redis at {REDIS_URL} (set REDIS_TEST_URL): {exc}")

    def forget_counters() -> None:
        for key in client.scan_iter(match="*throttle_*"):
            client.delete(key)

    forget_counters()
    yield client
    forget_counters()
    client.close()


@pytest.fixture
def shop_key_member():
    program_load({"program": {"name": "Rate test"}, "shops": [{"code": "shop-a", "name": "A"}]})
    _, raw_key = api_key_create(shop=Shop.objects.get())
    member = member_enroll(email="rate@example.com")
    return raw_key, member


@pytest.fixture
def server(tmp_path, redis_db):
    """gunicorn, 4 sync workers, on the test database and Redis, at 120 requests a minute per key."""
    db = connection.settings_dict
    access_log = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CACHE_URL": REDIS_URL, "API_RATE_LIMIT": "120/min", "SECURE_SSL_REDIRECT": "0", "DEBUG": "0",
        "LOYALTY_VAR_DIR": str(tmp_path), "CONN_MAX_AGE": "0",
    }  # fmt: skip
    errors = tmp_path / "gunicorn.err"
    with errors.open("w") as err:
        process = subprocess.Popen(
            [
                str(GUNICORN), "config.wsgi:application", "--workers", "4", "--bind", f"127.0.0.1:{PORT}",
                "--access-logfile", str(access_log), "--access-logformat", ACCESS_LOG_FORMAT,
            ],
            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:  # ready once an unknown path answers (404: no key, no throttle)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/ready-check", timeout=5)  # noqa: S310
        except urllib.error.HTTPError:
            break
        except OSError:
            assert process.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, f"gunicorn did not answer within 60 s:\n{errors.read_text()}"
            time.sleep(0.2)
    yield SimpleNamespace(url=f"http://127.0.0.1:{PORT}", access_log=access_log, errors=errors)
    process.terminate()
    process.wait(timeout=30)
    wait_for_no_other_connections()


def get(url: str, raw_key: str, **headers: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {raw_key}", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), json.loads(answer.read())


def test_sixteen_clients_on_four_processes_get_exactly_the_limit_through(server, shop_key_member):
    raw_key, member = shop_key_member
    url = f"{server.url}/api/v1/members/{member.public_id}"
    barrier = threading.Barrier(16)

    def client(index: int) -> list[tuple[int, dict, dict]]:
        barrier.wait()
        return [get(url, raw_key) for _ in range(300 // 16 + (index < 300 % 16))]

    with ThreadPoolExecutor(16) as pool:
        answers = [answer for batch in pool.map(client, range(16)) for answer in batch]

    assert len(answers) == 300
    assert Counter(status for status, _, _ in answers) == {200: 120, 429: 180}, server.errors.read_text()[-3000:]
    for status, headers, body in answers:
        if status == 429:
            wait = int(headers["Retry-After"])
            assert 1 <= wait <= 60
            assert body == {"error": {"type": "rate_limited", "code": "rate_limited",
                                      "message": f"Too many requests; retry in {wait} s.", "param": None}}  # fmt: skip
        else:
            assert body["id"] == member.public_id


def test_the_access_log_carries_the_request_id_and_leaves_the_query_string_out(server, shop_key_member):
    raw_key, member = shop_key_member

    found, headers, _ = get(f"{server.url}/api/v1/members/{member.public_id}", raw_key, **{"X-Request-ID": "co-42"})
    lookup, generated, _ = get(f"{server.url}/api/v1/members/lookup?email=rate%40example.com", raw_key)

    assert (found, headers["X-Request-ID"], lookup) == (200, "co-42", 200)
    deadline = time.monotonic() + 10
    while "/api/v1/members/lookup" not in server.access_log.read_text():  # gunicorn logs after answering
        assert time.monotonic() < deadline, server.access_log.read_text()
        time.sleep(0.1)
    *_, found_line, lookup_line = server.access_log.read_text().splitlines()
    member_path = f"/api/v1/members/{member.public_id}"
    assert re.fullmatch(rf'127\.0\.0\.1 "GET {member_path} HTTP/1\.1" 200 \d+ \d+ms co-42', found_line)
    assert re.fullmatch(
        rf'127\.0\.0\.1 "GET /api/v1/members/lookup HTTP/1\.1" 200 \d+ \d+ms {generated["X-Request-ID"]}', lookup_line
    )
    assert "rate@example.com" not in server.access_log.read_text() and "rate%40" not in server.access_log.read_text()


def test_on_redis_the_window_starts_with_a_keys_first_request_and_parallel_threads_never_overshoot(redis_db):
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    request = SimpleNamespace(auth=ApiKey(pk=987_654_321), META={})
    barrier = threading.Barrier(16)
    api_base.throttle_outages_clear()

    def client(_: int) -> list[bool]:
        barrier.wait()
        return [ApiKeyThrottle().allow_request(request, None) for _ in range(20)]

    with override_settings(CACHES=caches):
        ApiKeyThrottle.THROTTLE_RATES, saved = {"api_key": "50/min"}, ApiKeyThrottle.THROTTLE_RATES
        try:
            with ThreadPoolExecutor(16) as pool:
                answers = [allowed for batch in pool.map(client, range(16)) for allowed in batch]
            refused = ApiKeyThrottle()
            assert refused.allow_request(request, None) is False
        finally:
            ApiKeyThrottle.THROTTLE_RATES = saved

    assert answers.count(True) == 50 and len(answers) == 320
    [key] = list(redis_db.scan_iter(match="*throttle_api_key_987654321"))
    assert 55_000 < redis_db.pttl(key) <= 60_000  # one window from the first request, not from the clock minute
    assert 55 < refused.wait() <= 60
    assert not Member.objects.exists()
