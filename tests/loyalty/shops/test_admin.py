import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_authenticate, api_key_create


@pytest.fixture
def staff(db) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw-staff-123"))
    return client


def test_creating_a_key_shows_it_once_and_stores_only_its_hash(staff, now):
    shop = Shop.objects.create(code="shop-a", name="A")

    response = staff.post(
        "/admin/loyalty/apikey/add/",
        {"shop": shop.pk, "name": "till 1", "scopes": ["members:read", "transactions:write"]},
        secure=True,
        follow=True,
    )

    raw_key = re.search(r"<code>(lk_[a-z0-9]+_[A-Za-z0-9]+)</code>", response.content.decode()).group(1)
    key = ApiKey.objects.get()
    assert (key.name, key.scopes) == ("till 1", ["members:read", "transactions:write"])
    assert raw_key not in str(ApiKey.objects.values().get()) and key.prefix in raw_key
    assert api_key_authenticate(raw_key=raw_key, now=now) == key
    assert raw_key not in staff.get(f"/admin/loyalty/apikey/{key.pk}/change/", secure=True).content.decode()


def test_revoking_is_one_action_and_the_key_stops_working(staff, now):
    shop = Shop.objects.create(code="shop-a", name="A")
    key, raw_key = api_key_create(shop=shop)

    staff.post("/admin/loyalty/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, secure=True, follow=True)

    assert ApiKey.objects.get().revoked_at is not None
    assert api_key_authenticate(raw_key=raw_key, now=now) is None


def test_keys_cannot_be_deleted(staff):
    key, _ = api_key_create(shop=Shop.objects.create(code="shop-a", name="A"))
    assert staff.get(f"/admin/loyalty/apikey/{key.pk}/delete/", secure=True).status_code == 403


def test_the_revoke_message_says_how_long_other_processes_may_still_accept_the_key(staff, settings):
    settings.API_KEY_CACHE_SECONDS = 7
    key, _ = api_key_create(shop=Shop.objects.create(code="shop-a", name="A"))

    response = staff.post(
        "/admin/loyalty/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, secure=True, follow=True
    )

    [message] = [str(m) for m in response.context["messages"]]
    assert "within 7 seconds" in message and "API_KEY_CACHE_SECONDS" in message
    assert ApiKey.objects.get().revoked_at is not None
