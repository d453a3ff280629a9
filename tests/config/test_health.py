"""Issue 9, item 6: `/healthz` tells a load balancer whether the node can serve (503 while the database is
down), `/livez` only that the process answers; neither is redirected nor refused for its Host."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loyalty.shops.models import Shop


def _refused(*args, **kwargs):
    raise OperationalError("connection refused")


def _cache_down(*args, **kwargs):
    raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


@pytest.mark.django_db
def test_healthz_is_200_ok_when_the_database_and_the_cache_answer(client):
    with CaptureQueriesContext(connection) as queries:
        r = client.get("/healthz", secure=True)

    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert [q["sql"] for q in queries] == ["SELECT 1"]
    assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_healthz_is_503_naming_the_database_when_it_is_down(client, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", _refused)
        r = client.get("/healthz", secure=True)

    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "checks": {"database": "down", "cache": "ok"}}


@pytest.mark.django_db
def test_healthz_is_200_degraded_when_only_the_cache_is_down(client, monkeypatch):
    monkeypatch.setattr(cache, "get", _cache_down)

    r = client.get("/healthz", secure=True)

    assert r.status_code == 200
    assert r.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "down"}}


@pytest.mark.django_db
def test_healthz_is_503_when_both_are_down(client, monkeypatch):
    monkeypatch.setattr(cache, "get", _cache_down)
    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", _refused)
        r = client.get("/healthz", secure=True)

    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "checks": {"database": "down", "cache": "down"}}


def test_livez_is_200_without_touching_the_database_or_the_cache(client, monkeypatch):
    """No `db` fixture: pytest-django fails any query; the cache is broken on purpose."""
    monkeypatch.setattr(cache, "get", _cache_down)

    r = client.get("/livez", secure=True)

    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/livez"])
def test_probes_over_plain_http_are_answered_not_redirected(settings, path):
    settings.SECURE_SSL_REDIRECT = True

    r = Client(HTTP_HOST="127.0.0.1").get(path)

    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/livez"])
def test_probes_with_the_node_s_address_as_host_are_answered(settings, path):
    """A load balancer probes the node by address, which ALLOWED_HOSTS does not list."""
    settings.ALLOWED_HOSTS = ["loyalty.example.com"]

    r = Client(HTTP_HOST="10.1.2.3:8000").get(path)

    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.django_db
def test_healthz_is_still_served_after_the_database_came_back(client, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", _refused)
        down = client.get("/healthz", secure=True)

    up = client.get("/healthz", secure=True)

    assert (down.status_code, up.status_code) == (503, 200)
    assert Shop.objects.count() == 0


def _settings_in_a_fresh_process(**env) -> dict:
    script = "import json; from django.conf import settings; print(json.dumps(settings.CACHES['default']))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def test_a_redis_cache_gives_up_within_half_a_second_by_default_and_the_url_may_say_otherwise():
    """The cache check of /healthz (and every rate-limit count) waits at most this long for Redis."""
    default = _settings_in_a_fresh_process(CACHE_URL="redis://127.0.0.1:6379/1")
    chosen = _settings_in_a_fresh_process(CACHE_URL="redis://127.0.0.1:6379/1?socket_timeout=2")

    assert default["OPTIONS"] == {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    assert chosen["OPTIONS"] == {"socket_connect_timeout": 0.5, "socket_timeout": 2}
