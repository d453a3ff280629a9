"""`activate_pending_points` (loyalty.earning.jobs), with exact balances and lots."""

import datetime as dt

import pytest

from loyalty.earning.jobs import activate_pending_points
from loyalty.earning.models import Transaction
from loyalty.ledger.models import LedgerEntry, PointLot
from loyalty.ledger.services import points_credit, points_debit
from tests.factories import MemberFactory
from tests.support.books import (
    DAY,
    MICRO,
    UTC,
    T,
    allocations,
    balance,
    books,
    buy,
    entries,
    lot_of,
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


def lot_state(lot: PointLot) -> tuple[int, bool]:
    return PointLot.objects.values_list("remaining", "pending").get(pk=lot.pk)


def status_of(txn: Transaction) -> str:
    return Transaction.objects.values_list("points_status", flat=True).get(pk=txn.pk)


# --- activate_pending_points ---------------------------------------------------------------------------


def test_pending_points_become_available_after_pending_days(shop, member):
    txn = buy(shop, member, "100.00", T)
    lot = lot_of(txn)
    assert (txn.points_status, txn.available_at) == ("pending", T + 14 * DAY)
    assert balance(member) == (0, 100, 0)
    assert lot_state(lot) == (100, True)

    for early in (T + 13 * DAY, T + 14 * DAY - MICRO):
        assert activate_pending_points(now=early).summary() == "activate_pending_points: nothing due"
    assert (balance(member), lot_state(lot), status_of(txn)) == ((0, 100, 0), (100, True), "pending")

    run = activate_pending_points(now=T + 14 * DAY)

    assert run.counts == {"points_activated": 100, "members": 1}
    assert run.summary() == "activate_pending_points: 100 points activated, 1 members (1 accounts in 1 chunks)"
    assert balance(member) == (100, 0, 0)
    assert lot_state(lot) == (100, False)
    assert status_of(txn) == "available"
    assert entries(member, Kind.ACTIVATE) == [(100, -100, 0, 100)]
    entry = LedgerEntry.objects.get(account__member=member, kind=Kind.ACTIVATE)
    assert (entry.created_at, entry.actor) == (T + 14 * DAY, "job:activate_pending_points")
    assert allocations(entry.pk) == {}
    # The activated points are spendable now, and expire as the policy said when they were earned.
    assert PointLot.objects.get(pk=lot.pk).expires_at == dt.datetime(2028, 3, 15, 12, 0, tzinfo=UTC)


def test_a_rerun_activates_nothing_more(shop, member):
    buy(shop, member, "100.00", T)
    activate_pending_points(now=T + 14 * DAY)
    before = books()

    for later in (T + 14 * DAY, T + 30 * DAY):
        run = activate_pending_points(now=later)
        assert run.summary() == "activate_pending_points: nothing due"
        assert (run.chunks, run.accounts) == (0, 0)
    assert books() == before
    assert entries(member, Kind.ACTIVATE) == [(100, -100, 0, 100)]


def test_one_activate_entry_per_member_per_run_and_lots_not_yet_due_stay_pending(shop):
    ada, bob = MemberFactory(), MemberFactory()
    ada_first, ada_second = buy(shop, ada, "50.00", T), buy(shop, ada, "30.00", T + DAY)
    ada_later = buy(shop, ada, "7.00", T + 5 * DAY)
    bob_txn = buy(shop, bob, "20.00", T)

    run = activate_pending_points(now=T + 15 * DAY)

    assert run.counts == {"points_activated": 100, "members": 2}
    assert entries(ada, Kind.ACTIVATE) == [(80, -80, 0, 80)]
    assert entries(bob, Kind.ACTIVATE) == [(20, -20, 0, 20)]
    assert (balance(ada), balance(bob)) == ((80, 7, 0), (20, 0, 0))
    assert [status_of(t) for t in (ada_first, ada_second, ada_later, bob_txn)] == [
        "available", "available", "pending", "available",
    ]  # fmt: skip
    assert lot_state(lot_of(ada_later)) == (7, True)

    assert activate_pending_points(now=T + 19 * DAY).counts == {"points_activated": 7, "members": 1}
    assert entries(ada, Kind.ACTIVATE) == [(80, -80, 0, 80), (7, -7, 0, 87)]
    assert balance(ada) == (87, 0, 0)


def test_activation_works_through_small_chunks(shop):
    members = [MemberFactory() for _ in range(5)]
    for index, member in enumerate(members):
        buy(shop, member, f"{index + 1}.00", T)

    run = activate_pending_points(now=T + 14 * DAY, chunk_size=2)

    assert run.counts == {"points_activated": 15, "members": 5}
    assert (run.accounts, run.chunks) == (5, 3)
    assert [balance(member) for member in members] == [(n, 0, 0) for n in range(1, 6)]


def test_a_partly_refunded_pending_purchase_activates_what_is_left(shop, member):
    txn = buy(shop, member, "100.00", T)
    refund(shop, txn, "40.00", T + DAY)  # the refund cancels pending points first
    assert balance(member) == (0, 60, 0)

    assert activate_pending_points(now=T + 14 * DAY).counts == {"points_activated": 60, "members": 1}
    assert balance(member) == (60, 0, 0)
    assert lot_state(lot_of(txn)) == (60, False)
    assert entries(member, Kind.ACTIVATE) == [(60, -60, 0, 60)]


def test_a_fully_refunded_pending_purchase_does_not_break_the_activation_run(shop, member):
    """Refunding a purchase before its points activate empties its pending lot. The next activation run must
    still work: the other members' points activate, and the refunded member gets no entry."""
    refunded = buy(shop, member, "100.00", T)
    refund(shop, refunded, "100.00", T + DAY)
    assert balance(member) == (0, 0, 0)
    other = MemberFactory()
    buy(shop, other, "30.00", T)

    run = activate_pending_points(now=T + 14 * DAY)

    assert run.counts == {"points_activated": 30, "members": 1}
    assert balance(other) == (30, 0, 0)
    assert balance(member) == (0, 0, 0)
    assert entries(member, Kind.ACTIVATE) == []
    assert activate_pending_points(now=T + 15 * DAY).summary() == "activate_pending_points: nothing due"


def test_activated_points_settle_a_negative_balance_first(shop, member):
    first = buy(shop, member, "100.00", T)
    activate_pending_points(now=T + 14 * DAY)
    points_debit(member=member, points=100, now=T + 14 * DAY)  # spent them all
    second = buy(shop, member, "60.00", T + 14 * DAY)  # pending until T + 28 days
    refund(shop, first, "100.00", T + 15 * DAY)  # claws back 100 that are already spent
    assert balance(member) == (-100, 60, 0)
    assert entries(member, Kind.CLAWBACK) == [(-100, 0, 0, -100)]

    run = activate_pending_points(now=T + 28 * DAY)

    assert run.counts == {"points_activated": 60, "members": 1}
    assert balance(member) == (-40, 0, 0)
    assert lot_state(lot_of(second)) == (0, False)  # all 60 went to the debt
    activate = LedgerEntry.objects.filter(account__member=member, kind=Kind.ACTIVATE).latest("pk")
    assert (activate.points, activate.pending_points, activate.balance_after) == (60, -60, -40)
    assert allocations(activate.pk) == {lot_of(second).pk: 60}
    assert status_of(second) == "available"

    # The next activation pays off the remaining 40 and the lot keeps the rest.
    third = buy(shop, member, "70.00", T + 28 * DAY)
    assert activate_pending_points(now=T + 42 * DAY).counts == {"points_activated": 70, "members": 1}
    assert balance(member) == (30, 0, 0)
    assert lot_state(lot_of(third)) == (30, False)
    assert entries(member, Kind.ACTIVATE)[-1] == (70, -70, 0, 30)
    # 30 spendable points, drawn from the only lot that has any.
    points_debit(member=member, points=30, now=T + 42 * DAY)
    assert balance(member) == (0, 0, 0)


def test_pending_points_of_a_credit_with_available_at_activate_too(shop, member):
    lot = points_credit(member=member, points=25, now=T, available_at=T + 3 * DAY, expires_at=T + 30 * DAY).lot
    assert balance(member) == (0, 25, 0)

    assert activate_pending_points(now=T + 3 * DAY - MICRO).counts == {}
    assert activate_pending_points(now=T + 3 * DAY).counts == {"points_activated": 25, "members": 1}
    assert (balance(member), lot_state(lot)) == ((25, 0, 0), (25, False))
