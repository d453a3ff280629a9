"""The books `expire_points` leaves: entries, allocations, lots and balances, exactly, on SQLite and on
PostgreSQL (the job is one set of SQL statements both run); a chunk's statement count; and the inactivity
policy's due lots against `months_add`, at the instants where months clamp."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from loyalty.calendar import months_add, months_add_reached
from loyalty.earning.services import refund_create
from loyalty.ledger.jobs import ACTOR, expire_points
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.services import points_credit, points_debit
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop
from members.public_ids import ALPHABET
from tests.factories import MemberFactory
from tests.support.books import buy, lot_of

UTC = dt.UTC
DAY = dt.timedelta(days=1)
MICRO = dt.timedelta(microseconds=1)
T0 = dt.datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
NOW = T0 + 400 * DAY  # lots earned at T0 (rolling, 12 months) are due; those of T0 + 200 days are not
PROGRAM = {
    "name": "Books", "currency": "EUR", "points_per_currency_unit": "1", "point_value": "0.01", "pending_days": 0,
    "expiry": {"policy": "rolling", "months": 12}, "max_backdate_days": 3650, "allow_negative_balance": False,
    "tier_window_days": 365, "hold_ttl_minutes": 15,
}  # fmt: skip
ENTRY_ID = re.compile(f"^ent_[{ALPHABET}]{{20}}$")


def available(member) -> int:
    return Account.objects.values_list("available", flat=True).get(member=member)


def remaining(*lots: PointLot) -> list[int]:
    return [PointLot.objects.values_list("remaining", flat=True).get(pk=lot.pk) for lot in lots]


def expire_entries(member) -> list[tuple]:
    return list(
        LedgerEntry.objects.filter(account__member=member, kind=LedgerEntry.Kind.EXPIRE).values_list(
            "points", "pending_points", "held_points", "balance_after", "reference", "actor", "description",
            "created_at",
        )
    )  # fmt: skip


def drawn(member) -> dict[int, int]:
    """{lot id: points} the member's expire entries took."""
    rows = LotAllocation.objects.filter(entry__account__member=member, entry__kind=LedgerEntry.Kind.EXPIRE)
    return dict(rows.values_list("lot_id", "points"))


def books() -> tuple[list, ...]:
    return (
        list(Account.objects.order_by("pk").values_list("pk", "available", "pending", "held")),
        list(LedgerEntry.objects.order_by("pk").values_list("pk", "public_id", "points", "balance_after")),
        list(PointLot.objects.order_by("pk").values_list("pk", "remaining")),
        list(LotAllocation.objects.order_by("pk").values_list("entry_id", "lot_id", "points")),
    )


@pytest.fixture
def shop(db) -> Shop:
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "A"}]})
    return Shop.objects.get(code="shop-a")


def expired(points: int, balance_after: int) -> tuple:
    return (-points, 0, 0, balance_after, "", ACTOR, f"{points} points expired", NOW)


def test_the_books_after_expiry_over_several_chunks(shop):
    whole, spent, bonus, two, gone, refunded = (MemberFactory() for _ in range(6))
    whole_due, whole_later = lot_of(buy(shop, whole, "100.00", T0)), lot_of(buy(shop, whole, "50.00", T0 + 200 * DAY))
    spent_due = lot_of(buy(shop, spent, "101.00", T0))
    points_debit(member=spent, points=31, now=T0 + 10 * DAY)  # drawn from the due lot, the soonest to expire
    bonus_kept = points_credit(member=bonus, points=25, now=T0).lot  # credited without an expiry
    bonus_due = lot_of(buy(shop, bonus, "102.00", T0))
    two_due = [lot_of(buy(shop, two, "40.00", T0)), lot_of(buy(shop, two, "60.00", T0 + DAY))]
    buy(shop, gone, "80.00", T0)
    points_debit(member=gone, points=80, now=T0 + 300 * DAY)  # nothing left to expire
    small, big = lot_of(buy(shop, refunded, "10.00", T0)), lot_of(buy(shop, refunded, "400.00", T0))
    refund_create(shop=shop, txn=big.entry.transaction, external_id="r-1", amount=Decimal("400.00"),
                  fingerprint="r-1", now=T0 + DAY)  # fmt: skip
    assert remaining(small, big) == [0, 10]  # the claw-back drew the soonest-expiring lot first

    run = expire_points(now=NOW, chunk_size=2)

    assert run.counts == {"points_expired": 100 + 70 + 102 + 100 + 10, "members": 5, "lots": 6}
    assert (run.accounts, run.chunks) == (5, 3)
    assert [available(m) for m in (whole, spent, bonus, two, gone, refunded)] == [50, 0, 25, 0, 0, 0]
    assert expire_entries(whole) == [expired(100, 50)]
    assert expire_entries(spent) == [expired(70, 0)]
    assert expire_entries(bonus) == [expired(102, 25)]
    assert expire_entries(two) == [expired(100, 0)]
    assert expire_entries(gone) == []
    assert expire_entries(refunded) == [expired(10, 0)]
    assert drawn(whole) == {whole_due.pk: 100}
    assert drawn(spent) == {spent_due.pk: 70}
    assert drawn(bonus) == {bonus_due.pk: 102}
    assert drawn(two) == {two_due[0].pk: 40, two_due[1].pk: 60}
    assert drawn(refunded) == {big.pk: 10}
    assert remaining(whole_due, whole_later, spent_due, bonus_kept, bonus_due, *two_due, big) == [
        0,
        50,
        0,
        25,
        0,
        0,
        0,
        0,
    ]
    public_ids = list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EXPIRE).values_list("public_id", flat=True))
    assert len(set(public_ids)) == 5 and all(ENTRY_ID.match(public_id) for public_id in public_ids)
    before = books()

    rerun = expire_points(now=NOW, chunk_size=2)

    assert rerun.summary() == "expire_points: nothing due" and books() == before


def test_a_chunk_is_the_same_statements_however_many_members_and_lots_it_holds(shop):
    def run_counting(members: int, lots: int, at: dt.datetime) -> tuple[dict, int]:
        for _ in range(members):
            member = MemberFactory()
            for index in range(lots):
                buy(shop, member, f"{10 + index}.00", at - 366 * DAY + index * dt.timedelta(hours=1))
        with CaptureQueriesContext(connection) as queries:
            run = expire_points(now=at)
        return run.counts, len(queries)

    one = run_counting(1, 1, NOW)
    many = run_counting(4, 5, NOW + 30 * DAY)

    assert one[0] == {"points_expired": 10, "members": 1, "lots": 1}
    assert many[0] == {"points_expired": 4 * (10 + 11 + 12 + 13 + 14), "members": 4, "lots": 20}
    assert one[1] == many[1]


# --- the inactivity policy's due lots -------------------------------------------------------------------


@given(
    moment=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)),
    now=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)),
    months=st.integers(min_value=1, max_value=40),
)
def test_months_add_reached_holds_exactly_the_instants_months_add_takes_to_now_or_before(moment, now, months):
    assert (moment in months_add_reached(months, now)) == (months_add(moment, months) <= now)


NOWS = [
    dt.datetime(2026, 2, 28, 10, 0, tzinfo=UTC),  # the last day of a short month: 28-31 January clamp onto it
    dt.datetime(2028, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),  # leap day, just before midnight
    dt.datetime(2026, 3, 30, 8, 30, tzinfo=UTC),  # a day February does not have
    dt.datetime(2026, 4, 30, 0, 0, tzinfo=UTC),  # the last day of a 30-day month, at midnight
    dt.datetime(2026, 7, 15, 12, 0, 0, 500000, tzinfo=UTC),  # mid-month, with microseconds
]


def instants_around(now: dt.datetime, months: int) -> list[dt.datetime]:
    """Instants near the inactivity boundary: ten days from three before `now` less `months` (so the days
    that clamp onto a month's last day are in), each at midnight, at now's time of day and a microsecond
    either side of it."""
    first = (months_add(now, -months) - 3 * DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [first + index * DAY for index in range(10)]
    time_of_day = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    return sorted({day + shift for day in days for shift in (0 * DAY, time_of_day - MICRO, time_of_day,
                                                              time_of_day + MICRO)})  # fmt: skip


@pytest.mark.parametrize("now", NOWS, ids=lambda now: now.isoformat())
def test_inactivity_expires_exactly_the_lots_months_add_puts_at_or_before_now(shop, now):
    months = 1
    program_load({"program": {**PROGRAM, "expiry": {"policy": "inactivity", "months": months}}})
    purchased, credited = {}, {}
    for instant in instants_around(now, months):
        buyer = MemberFactory()  # last purchase at `instant`, lot older
        points_credit(member=buyer, points=1, now=instant - 400 * DAY)
        Account.objects.filter(member=buyer).update(last_purchase_at=instant)
        purchased[buyer.pk] = instant
        never = MemberFactory()  # never purchased: the lot's own age counts
        points_credit(member=never, points=1, now=instant)
        credited[never.pk] = instant
    due = {pk for pk, since in (purchased | credited).items() if months_add(since, months) <= now}
    assert 0 < len(due) < len(purchased) + len(credited)

    expire_points(now=now)

    gone = set(Account.objects.filter(available=0).values_list("member_id", flat=True))
    assert gone == due
