"""On PostgreSQL `expire_points` and `recalculate_tiers` run one statement per chunk; elsewhere the ORM path
runs. Both must leave exactly the same books. Here both run, on PostgreSQL, over the same data."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection, transaction

from loyalty.earning.services import refund_create, transaction_create
from loyalty.ledger import jobs as expiry_job
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.services import points_credit, points_debit
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop
from loyalty.tiers import jobs as tiers_job
from loyalty.tiers.models import TierChange
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UTC = dt.UTC
DAY = dt.timedelta(days=1)
T0 = dt.datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
PROGRAM = {
    "name": "Paths", "currency": "EUR", "points_per_currency_unit": "1", "point_value": "0.01", "pending_days": 0,
    "expiry": {"policy": "rolling", "months": 12}, "max_backdate_days": 3650, "allow_negative_balance": True,
    "tier_window_days": 365, "hold_ttl_minutes": 15,
}  # fmt: skip
TIERS = [
    {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"},
    {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "1"},
    {"code": "gold", "name": "Gold", "threshold": 2000, "multiplier": "1"},
]
_ids = itertools.count(1)


class _Vendor:
    """The module's `connection`, claiming another vendor so the job takes its other path."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor

    def __getattr__(self, name):
        return getattr(connection, name)


class _Rollback(Exception):
    pass


def run_and_rollback(module, job, now, snapshot, *, vendor: str, chunk_size: int):
    """(job counts, books) after running `job` taking the `vendor` path; the database is then as before."""
    original = module.connection
    module.connection = _Vendor(vendor)
    try:
        with transaction.atomic():
            run = job(now=now, chunk_size=chunk_size)
            result = (dict(run.counts), snapshot())
            raise _Rollback
    except _Rollback:
        return result
    finally:
        module.connection = original


def buy(shop, member, total: str, at: dt.datetime):
    order = f"order-{next(_ids)}"
    purchase = transaction_create(
        shop=shop, member=member, external_id=order, currency="EUR", total=Decimal(total), occurred_at=at,
        lines=None, fingerprint=order, now=at,
    )  # fmt: skip
    assert purchase.created
    return purchase.transaction


@pytest.fixture
def shop() -> Shop:
    assert connection.vendor == "postgresql"
    program_load({"program": PROGRAM, "tiers": TIERS, "shops": [{"code": "shop-a", "name": "A"}]})
    return Shop.objects.get(code="shop-a")


def expiry_books():
    return (
        list(Account.objects.order_by("pk").values_list("pk", "available", "pending", "held")),
        list(
            LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EXPIRE)
            .order_by("account_id")
            .values_list(
                "account_id",
                "kind",
                "points",
                "pending_points",
                "held_points",
                "balance_after",
                "reference",
                "actor",
                "description",
                "created_at",
            )  # fmt: skip
        ),
        sorted(
            LotAllocation.objects.filter(entry__kind=LedgerEntry.Kind.EXPIRE).values_list(
                "entry__account_id", "lot_id", "points"
            )
        ),
        list(PointLot.objects.order_by("pk").values_list("pk", "remaining", "pending")),
    )


def test_expiry_one_statement_and_orm_paths_leave_the_same_books(shop):
    now = T0 + 400 * DAY
    members = [MemberFactory() for _ in range(7)]
    for index, member in enumerate(members):
        buy(shop, member, f"{100 + index}.00", T0)  # due (12 months)
        buy(shop, member, "50.00", T0 + 200 * DAY)  # not yet due
        if index % 2:
            points_debit(member=member, points=30 + index, now=T0 + 10 * DAY)  # part of the due lot spent
        if index % 3 == 0:
            points_credit(member=member, points=25, now=T0)  # never expires
        if index == 5:
            points_debit(member=member, points=120, now=T0 + 300 * DAY)  # all that is left, due lot included
    expired = MemberFactory()
    buy(shop, expired, "10.00", T0)
    refund_create(shop=shop, txn=buy(shop, expired, "400.00", T0), external_id="r-1", amount=Decimal("400.00"),
                  fingerprint="r-1", now=T0 + DAY)  # fmt: skip

    one = run_and_rollback(expiry_job, expiry_job.expire_points, now, expiry_books, vendor="postgresql", chunk_size=3)
    orm = run_and_rollback(expiry_job, expiry_job.expire_points, now, expiry_books, vendor="sqlite", chunk_size=3)

    assert one[0]["points_expired"] > 0 and one[0]["members"] >= 6
    assert one == orm


def tier_books():
    """Keyed by member: the job opens accounts for members without one, and an account id drawn from a
    PostgreSQL sequence is not given back when the run is rolled back."""
    return (
        list(Account.objects.order_by("member_id").values_list("member_id", "tier__code", "tier_valid_until")),
        sorted(
            TierChange.objects.values_list(
                "account__member_id",
                "from_tier__code",
                "to_tier__code",
                "reason",
                "qualifying_points",
                "valid_until",
                "created_at",
            ),
            key=repr,
        ),
    )


def test_tiers_one_statement_and_orm_paths_leave_the_same_books(shop):
    now = T0 + 365 * DAY + 30 * DAY
    spends = ["2500.00", "2500.00", "600.00", "100.00", "1999.00", "0.50"]
    members = [MemberFactory() for _ in spends]
    for member, total in zip(members, spends, strict=True):
        buy(shop, member, total, T0)  # upgrades inside the purchase; the tier is past its validity by `now`
    buy(shop, members[1], "2100.00", T0 + 100 * DAY)  # still qualifies for gold: renewed
    buy(shop, members[2], "300.00", T0 + 300 * DAY)  # silver -> bronze
    buy(shop, members[4], "600.00", T0 + 200 * DAY)  # upgraded to gold inside the purchase
    refund_create(shop=shop, txn=buy(shop, members[5], "800.00", T0 + 200 * DAY), external_id="r-1",
                  amount=Decimal("700.00"), fingerprint="r-1", now=T0 + 201 * DAY)  # fmt: skip
    Account.objects.filter(member=members[1]).update(tier_valid_until=T0 + 380 * DAY)  # lapsed, still qualifies
    Account.objects.filter(member=members[3]).update(tier=None, tier_valid_until=None)  # qualifies for bronze
    MemberFactory()  # no account at all: both paths open one and place it in the base tier
    points_credit(member=MemberFactory(), points=5, now=T0)  # an account, no purchases

    one = run_and_rollback(tiers_job, tiers_job.recalculate_tiers, now, tier_books, vendor="postgresql", chunk_size=2)
    orm = run_and_rollback(tiers_job, tiers_job.recalculate_tiers, now, tier_books, vendor="sqlite", chunk_size=2)

    assert {"downgrades", "renewed", "upgrades"} <= set(one[0])
    assert one == orm
