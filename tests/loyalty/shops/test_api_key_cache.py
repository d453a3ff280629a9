"""loyalty.shops.services: a verified API key is cached for API_KEY_CACHE_SECONDS; a deactivated shop or a
key revoked elsewhere is refused once the TTL passed, and a revocation in this process applies at once."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.shops import services as shop_services
from loyalty.shops.models import ApiKey, Shop


def error(r) -> dict:
    return r.json()["error"]


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.at = start

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(shop_services.time, "monotonic", clock)
    return clock


def _key_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/transactions").status_code == 200
    return sum(ApiKey._meta.db_table in q["sql"] and "SELECT" in q["sql"].upper() for q in queries.captured_queries)


def test_a_verified_key_is_not_read_again_within_the_ttl_and_is_after_it(api, clock):
    assert _key_queries(api) == 1
    clock.at += settings.API_KEY_CACHE_SECONDS - 0.01
    assert _key_queries(api) == 0
    clock.at += 0.02
    assert _key_queries(api) == 1


def test_a_shop_deactivated_after_its_key_was_cached_is_refused_once_the_ttl_passed(api, clock):
    assert api.get("/api/v1/transactions").status_code == 200
    Shop.objects.filter(pk=api.shop.pk).update(active=False)

    clock.at += settings.API_KEY_CACHE_SECONDS + 0.01
    r = api.get("/api/v1/transactions")

    assert r.status_code == 401 and error(r)["code"] == "invalid_api_key"


def test_a_key_revoked_elsewhere_stops_working_once_the_ttl_passed(api, clock):
    assert api.get("/api/v1/transactions").status_code == 200
    ApiKey.objects.filter(shop=api.shop).update(revoked_at="2026-01-01T00:00:00Z")  # another process revoked

    clock.at += settings.API_KEY_CACHE_SECONDS + 0.01
    r = api.get("/api/v1/transactions")

    assert r.status_code == 401 and error(r)["code"] == "invalid_api_key"


def test_revoking_one_key_does_not_let_a_cached_revoked_key_through(api_for, shop, clock):
    """api_key_revoke clears the whole cache, so a revocation in this process applies at once."""
    first, second = api_for(shop), api_for(shop)
    assert first.get("/api/v1/transactions").status_code == 200
    assert second.get("/api/v1/transactions").status_code == 200

    shop_services.api_key_revoke(
        key=ApiKey.objects.get(key_hash=shop_services.key_hash(first.key)), now="2026-01-01T00:00:00Z"
    )

    assert first.get("/api/v1/transactions").status_code == 401
    assert second.get("/api/v1/transactions").status_code == 200
