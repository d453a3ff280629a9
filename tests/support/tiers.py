"""Helpers for the tier tests: the program they run under, purchases and refunds at given times, and what the
member's account and TierChanges then say."""

import datetime as dt
import itertools
from decimal import Decimal

from loyalty.earning.models import Transaction
from loyalty.earning.rules import Line
from loyalty.earning.services import refund_create, transaction_create
from loyalty.ledger.models import Account
from loyalty.tiers.models import TierChange

UTC = dt.UTC
DAY = dt.timedelta(days=1)
YEAR = 365 * DAY
MICRO = dt.timedelta(microseconds=1)
T0 = dt.datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

PROGRAM = {
    "name": "Tier tests",
    "currency": "EUR",
    "points_per_currency_unit": "1",
    "point_value": "0.01",
    "pending_days": 0,
    "expiry": {"policy": "never"},
    "max_backdate_days": 30,
    "allow_negative_balance": True,
    "tier_window_days": 365,
    "hold_ttl_minutes": 15,
    "excluded_categories": ["gift_cards"],
}
TIERS = [
    {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"},
    {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "1.5"},
    {"code": "gold", "name": "Gold", "threshold": 2000, "multiplier": "2"},
]
_ids = itertools.count(1)


def buy(shop, member, total: str, at: dt.datetime, lines: list[Line] | None = None) -> Transaction:
    order = f"order-{next(_ids)}"
    purchase = transaction_create(
        shop=shop, member=member, external_id=order, currency="EUR", total=Decimal(total), occurred_at=at,
        lines=lines, fingerprint=order, now=at,
    )  # fmt: skip
    assert purchase.created
    return purchase.transaction


def refund(shop, txn, amount: str, at: dt.datetime) -> None:
    ref = f"refund-{next(_ids)}"
    refund_create(shop=shop, txn=txn, external_id=ref, amount=Decimal(amount), fingerprint=ref, now=at)


def tier(member) -> tuple[str | None, dt.datetime | None]:
    """(tier code, valid_until) of the member's account."""
    account = Account.objects.select_related("tier").get(member=member)
    return (account.tier.code if account.tier else None, account.tier_valid_until)


def changes(member) -> list[tuple]:
    """(from, to, reason, qualifying_points, valid_until, created_at) of the member's TierChanges, oldest first."""
    rows = TierChange.objects.filter(account__member=member).order_by("pk")
    return [
        (
            c.from_tier.code if c.from_tier else None,
            c.to_tier.code if c.to_tier else None,
            c.reason,
            c.qualifying_points,
            c.valid_until,
            c.created_at,
        )
        for c in rows.select_related("from_tier", "to_tier")
    ]


def qualifying(txn: Transaction) -> int:
    return Transaction.objects.values_list("qualifying_points", flat=True).get(pk=txn.pk)
