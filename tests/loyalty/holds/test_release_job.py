"""`release_expired_holds` (loyalty.holds.jobs), with exact balances and lots."""

import datetime as dt

import pytest

from loyalty.holds.errors import HoldNotActive
from loyalty.holds.jobs import release_expired_holds
from loyalty.holds.models import Hold
from loyalty.holds.services import hold_capture, hold_create, hold_void
from loyalty.ledger.models import LedgerEntry, PointLot
from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from tests.factories import MemberFactory
from tests.support.books import (
    DAY,
    MICRO,
    MINUTE,
    PROGRAM,
    T,
    allocations,
    balance,
    books,
    buy,
    entries,
    lot_of,
    next_id,
    refund,
    shop_load,
)

pytestmark = pytest.mark.django_db

Kind = LedgerEntry.Kind


@pytest.fixture
def shop():
    return shop_load()


@pytest.fixture
def member(shop):
    return MemberFactory()


def hold(shop, member, points: int, at: dt.datetime) -> Hold:
    ext = next_id("pay")
    held = hold_create(shop=shop, member=member, points=points, external_id=ext, fingerprint=ext, now=at)
    assert held.created
    return held.hold


# --- release_expired_holds -----------------------------------------------------------------------------


@pytest.fixture
def rich(shop):
    """A member with three lots: 60 expiring in 10 days, 40 in 20 days, 50 never."""
    member = MemberFactory()
    lots = [
        points_credit(member=member, points=60, now=T, expires_at=T + 10 * DAY).lot,
        points_credit(member=member, points=40, now=T, expires_at=T + 20 * DAY).lot,
        points_credit(member=member, points=50, now=T).lot,
    ]
    member.lots = lots
    return member


def remaining(*lots: PointLot) -> list[int]:
    return [PointLot.objects.values_list("remaining", flat=True).get(pk=lot.pk) for lot in lots]


def test_a_hold_past_its_ttl_is_released_to_the_lots_it_came_from(shop, rich):
    held = hold(shop, rich, 80, T)
    assert held.expires_at == T + 15 * MINUTE
    assert balance(rich) == (70, 0, 80)
    assert remaining(*rich.lots) == [0, 20, 50]
    hold_draws = allocations(held.entry_id)
    assert hold_draws == {rich.lots[0].pk: 60, rich.lots[1].pk: 20}

    assert release_expired_holds(now=held.expires_at - MICRO).summary() == "release_expired_holds: nothing due"
    assert Hold.objects.get(pk=held.pk).status == "held"

    run = release_expired_holds(now=held.expires_at)

    assert run.counts == {"holds_released": 1, "points_released": 80}
    assert run.summary() == "release_expired_holds: 1 holds released, 80 points released (1 accounts in 1 chunks)"
    released = Hold.objects.get(pk=held.pk)
    assert (released.status, released.resolved_at, released.captured_points) == ("expired", T + 15 * MINUTE, 0)
    assert balance(rich) == (150, 0, 0)
    assert remaining(*rich.lots) == [60, 40, 50]
    assert entries(rich, Kind.RELEASE) == [(80, 0, -80, 150)]
    entry = LedgerEntry.objects.get(account__member=rich, kind=Kind.RELEASE)
    assert (entry.reference, entry.shop_id, entry.created_at) == (f"hold:{held.public_id}", shop.pk, held.expires_at)
    assert allocations(entry.pk) == {lot_id: -points for lot_id, points in hold_draws.items()}

    with pytest.raises(HoldNotActive):
        hold_capture(hold=released, points=None, now=held.expires_at)


def test_a_rerun_releases_nothing_more(shop, rich):
    held = hold(shop, rich, 30, T)
    release_expired_holds(now=T + DAY)
    before = books()

    run = release_expired_holds(now=T + 2 * DAY)

    assert run.summary() == "release_expired_holds: nothing due"
    assert books() == before
    assert Hold.objects.get(pk=held.pk).status == "expired"
    assert entries(rich, Kind.RELEASE) == [(30, 0, -30, 150)]


def test_captured_and_voided_holds_are_left_alone(shop, rich):
    captured = hold(shop, rich, 20, T)
    partly = hold(shop, rich, 30, T)
    voided = hold(shop, rich, 10, T)
    open_hold = hold(shop, rich, 15, T)
    hold_capture(hold=captured, points=None, now=T + MINUTE)
    hold_capture(hold=partly, points=12, now=T + MINUTE)
    hold_void(hold=voided, now=T + 2 * MINUTE)
    assert balance(rich) == (150 - 20 - 12 - 15, 0, 15)
    untouched = list(
        Hold.objects.exclude(pk=open_hold.pk)
        .order_by("pk")
        .values_list("pk", "status", "captured_points", "resolved_at")
    )
    entries_before = LedgerEntry.objects.count()

    run = release_expired_holds(now=T + 1000 * MINUTE)

    assert run.counts == {"holds_released": 1, "points_released": 15}
    assert LedgerEntry.objects.count() == entries_before + 1
    assert untouched == list(
        Hold.objects.exclude(pk=open_hold.pk)
        .order_by("pk")
        .values_list("pk", "status", "captured_points", "resolved_at")
    )
    assert [h.status for h in Hold.objects.order_by("pk")] == ["captured", "captured", "voided", "expired"]
    assert balance(rich) == (150 - 20 - 12, 0, 0)


def test_each_expired_hold_gets_its_own_release_entry(shop, rich):
    other = MemberFactory()
    points_credit(member=other, points=10, now=T)
    first, second = hold(shop, rich, 50, T), hold(shop, rich, 70, T + 5 * MINUTE)
    third = hold(shop, other, 10, T + 10 * MINUTE)

    run = release_expired_holds(now=T + 20 * MINUTE)  # the third has 5 minutes left

    assert run.counts == {"holds_released": 2, "points_released": 120}
    assert [Hold.objects.get(pk=h.pk).status for h in (first, second, third)] == ["expired", "expired", "held"]
    assert entries(rich, Kind.RELEASE) == [(50, 0, -50, 80), (70, 0, -70, 150)]
    assert balance(rich) == (150, 0, 0)
    assert remaining(*rich.lots) == [60, 40, 50]
    assert balance(other) == (0, 0, 10)

    assert release_expired_holds(now=T + 25 * MINUTE).counts == {"holds_released": 1, "points_released": 10}
    assert balance(other) == (10, 0, 0)


def test_released_points_settle_a_negative_balance_first(shop, member):
    program_load({"program": {**PROGRAM, "pending_days": 0}})
    txn = buy(shop, member, "150.00", T)
    lot = lot_of(txn)
    held = hold(shop, member, 100, T)
    refund(shop, txn, "100.00", T + MINUTE)  # claws back 100 of 150; only 50 are still available
    assert balance(member) == (-50, 0, 100)
    assert remaining(lot) == [0]

    run = release_expired_holds(now=held.expires_at)

    assert run.counts == {"holds_released": 1, "points_released": 100}
    assert balance(member) == (50, 0, 0)
    assert remaining(lot) == [50]  # 50 of the 100 paid the debt
    entry = LedgerEntry.objects.get(account__member=member, kind=Kind.RELEASE)
    assert (entry.points, entry.held_points, entry.balance_after) == (100, -100, 50)
    assert allocations(entry.pk) == {lot.pk: -50}
