"""Driving the HTTP API as a shop's checkout would: the test program, a JSON client, request bodies."""

import json

from django.test import Client

from loyalty.ledger.models import Account
from loyalty.shops.models import Shop
from members.models import Member

PROGRAM = {
    "name": "Test program",
    "currency": "EUR",
    "points_per_currency_unit": "1",
    "point_value": "0.01",
    "pending_days": 0,
    "expiry": {"policy": "rolling", "months": 24},
    "max_backdate_days": 30,
    "allow_negative_balance": True,
    "tier_window_days": 365,
    "hold_ttl_minutes": 15,
    "subscription_grace_days": 7,
    "excluded_categories": ["gift_cards"],
}


class Api:
    """A JSON client with a shop's bearer key. `post`/`get` return the Django test response."""

    def __init__(self, key: str, shop: Shop) -> None:
        self.shop = shop
        self.key = key
        self.client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}")

    def post(self, path: str, body: object = None, *, raw: str | None = None, **headers):
        data = raw if raw is not None else json.dumps({} if body is None else body, default=str)
        return self.client.post(path, data, content_type="application/json", secure=True, **_h(headers))

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get(path, params or {}, secure=True, **_h(headers))


def _h(headers: dict) -> dict:
    """`idempotency_key="k"` becomes the HTTP_IDEMPOTENCY_KEY header."""
    return {f"HTTP_{name.upper()}": value for name, value in headers.items()}


def balance(member: Member) -> tuple[int, int, int]:
    """(available, pending, held) as stored."""
    account = Account.objects.filter(member=member).first()
    return (account.available, account.pending, account.held) if account else (0, 0, 0)


def purchase(member: Member, external_id: str = "order-1", total: str = "25.00", **fields) -> dict:
    """A transaction body."""
    return {"member": member.public_id, "external_id": external_id, "currency": "EUR", "total": total, **fields}


def line(price: str, *, sku: str = "sku-1", category: str = "general", quantity: int = 1) -> dict:
    return {"sku": sku, "category": category, "quantity": quantity, "unit_price": price}
