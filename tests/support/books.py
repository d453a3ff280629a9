"""The job tests' shared world: one program, purchases and refunds at given instants, and readers of the books."""

import datetime as dt
import itertools
from decimal import Decimal

from loyalty.earning.models import Transaction
from loyalty.earning.services import refund_create, transaction_create
from loyalty.holds.models import Hold
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop

UTC = dt.UTC
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
MICRO = dt.timedelta(microseconds=1)
T = dt.datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

PROGRAM = {
    "name": "Job tests",
    "currency": "EUR",
    "points_per_currency_unit": "1",
    "point_value": "0.01",
    "pending_days": 14,
    "expiry": {"policy": "rolling", "months": 24},
    "max_backdate_days": 30,
    "allow_negative_balance": True,
    "tier_window_days": 365,
    "hold_ttl_minutes": 15,
}
_ids = itertools.count(1)


def shop_load() -> Shop:
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "A"}]})
    return Shop.objects.get(code="shop-a")


def buy(shop, member, total: str, at: dt.datetime) -> Transaction:
    order = f"order-{next(_ids)}"
    purchase = transaction_create(
        shop=shop, member=member, external_id=order, currency="EUR", total=Decimal(total), occurred_at=at,
        lines=None, fingerprint=order, now=at,
    )  # fmt: skip
    assert purchase.created
    return purchase.transaction


def refund(shop, txn, amount: str, at: dt.datetime):
    ref = f"refund-{next(_ids)}"
    return refund_create(shop=shop, txn=txn, external_id=ref, amount=Decimal(amount), fingerprint=ref, now=at).refund


def next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def balance(member) -> tuple[int, int, int]:
    return Account.objects.values_list("available", "pending", "held").get(member=member)


def lot_of(txn: Transaction) -> PointLot:
    return PointLot.objects.get(entry__transaction=txn, entry__kind=LedgerEntry.Kind.EARN)


def entries(member, kind: str) -> list[tuple[int, int, int, int]]:
    """(points, pending_points, held_points, balance_after) of the member's entries of `kind`, oldest first."""
    return list(
        LedgerEntry.objects.filter(account__member=member, kind=kind)
        .order_by("pk")
        .values_list("points", "pending_points", "held_points", "balance_after")
    )


def allocations(entry_id: int) -> dict[int, int]:
    return dict(LotAllocation.objects.filter(entry_id=entry_id).values_list("lot_id", "points"))


def books() -> tuple[list, ...]:
    """Every row a job could touch, to compare before and after a run that should change nothing."""
    return (
        list(Account.objects.order_by("pk").values_list("pk", "available", "pending", "held")),
        list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "points", "pending_points", "held_points")),
        list(PointLot.objects.order_by("pk").values_list("pk", "remaining", "pending")),
        list(LotAllocation.objects.order_by("pk").values_list("pk", "entry_id", "lot_id", "points")),
        list(Hold.objects.order_by("pk").values_list("pk", "status", "captured_points", "resolved_at")),
        list(Transaction.objects.order_by("pk").values_list("pk", "points_status")),
    )
