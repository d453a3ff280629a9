"""Concurrent writes to the ledger serialize on the account row and leave exact books.

Every test commits for real (transaction=True) and runs its writes on many threads at once, each on its
own PostgreSQL connection. The suite-wide ledger_verify() runs after each test on top of the asserts here.
"""

import datetime as dt
from functools import partial

import pytest
from django.db import transaction
from django.db.models import Sum

from loyalty.errors import InvalidState
from loyalty.ledger.errors import InsufficientPoints
from loyalty.ledger.locking import accounts_lock
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.services import debit_cancel, points_credit, points_debit, points_expire
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)

Kind = LedgerEntry.Kind
DAY = dt.timedelta(days=1)


def _available(member) -> int:
    return Account.objects.get(member=member).available


def _lots_remaining(member) -> int:
    return PointLot.objects.filter(account__member=member).aggregate(total=Sum("remaining"))["total"]


def _errors(outcomes) -> list[BaseException]:
    return [outcome.error for outcome in outcomes if not outcome.ok]


def test_fifty_debits_against_a_thousand_points_take_exactly_what_is_there(parallel, now):
    member = MemberFactory()
    # 1,000 points as four lots; debits draw soonest-expiring first, never-expiring last.
    lots = {
        "30d": points_credit(member=member, points=300, now=now, expires_at=now + 30 * DAY).lot,
        "10d": points_credit(member=member, points=200, now=now, expires_at=now + 10 * DAY).lot,
        "never": points_credit(member=member, points=400, now=now).lot,
        "60d": points_credit(member=member, points=100, now=now, expires_at=now + 60 * DAY).lot,
    }

    outcomes = parallel([partial(points_debit, member=member, points=30, now=now)] * 50)

    succeeded = [outcome.value for outcome in outcomes if outcome.ok]
    failed = _errors(outcomes)
    assert len(succeeded) == 33
    assert len(failed) == 17
    assert all(type(error) is InsufficientPoints for error in failed), failed
    assert {error.code for error in failed} == {"insufficient_points"}
    # A debit is refused only once the balance is below 30, and then it is exactly 10.
    assert {(error.details["available"], error.details["requested"]) for error in failed} == {(10, 30)}

    assert _available(member) == 10
    redeems = LedgerEntry.objects.filter(account__member=member, kind=Kind.REDEEM)
    assert redeems.count() == 33
    assert all(entry.points == -30 for entry in succeeded)
    # Serialized: each debit saw the one before it, so the balances after are 970, 940, ..., 10.
    assert sorted(redeems.values_list("balance_after", flat=True)) == list(range(10, 1000, 30))
    assert LotAllocation.objects.filter(entry__in=redeems).aggregate(total=Sum("points"))["total"] == 990

    assert _lots_remaining(member) == 10
    remaining = {name: PointLot.objects.get(pk=lot.pk).remaining for name, lot in lots.items()}
    assert remaining == {"10d": 0, "30d": 0, "60d": 0, "never": 10}


def test_hundred_first_credits_race_to_create_the_account_and_all_count(parallel, now):
    member = MemberFactory()
    assert not Account.objects.filter(member=member).exists()

    # 100 credits on 50 threads (PostgreSQL allows 100 connections): the first 50 start together, none
    # of them finds an account row, and they all race to create it.
    credits = [partial(points_credit, member=member, points=i + 1, now=now) for i in range(100)]
    outcomes = parallel(credits, threads=50)

    assert _errors(outcomes) == []
    assert Account.objects.filter(member=member).count() == 1
    assert _available(member) == 5050
    earns = LedgerEntry.objects.filter(account__member=member, kind=Kind.EARN)
    assert earns.count() == 100
    assert sorted(earns.values_list("points", flat=True)) == list(range(1, 101))
    assert PointLot.objects.filter(account__member=member).count() == 100
    assert _lots_remaining(member) == 5050
    assert {outcome.value.account_id for outcome in outcomes} == {Account.objects.get(member=member).pk}


def test_mixed_debits_credits_and_one_cancel_on_two_members_stay_exact(parallel, now):
    alice, bob = MemberFactory(), MemberFactory()
    points_credit(member=alice, points=400, now=now, expires_at=now + 30 * DAY)
    points_credit(member=alice, points=200, now=now)
    points_credit(member=bob, points=400, now=now)
    redemption = points_debit(member=alice, points=100, now=now)  # alice: 500
    # Whatever the order, no debit below can find too few points: alice never drops under 300, bob 150.
    calls = (
        [partial(points_debit, member=alice, points=20, now=now)] * 10
        + [partial(points_credit, member=alice, points=15, now=now)] * 10
        + [partial(points_debit, member=bob, points=25, now=now)] * 10
        + [partial(points_credit, member=bob, points=10, now=now)] * 10
        + [partial(debit_cancel, entry=redemption, now=now)] * 10
    )

    outcomes = parallel(calls)

    assert _errors(outcomes[:40]) == []
    cancels = outcomes[40:]
    reversals = [outcome.value for outcome in cancels if outcome.ok]
    refused = _errors(cancels)
    assert len(reversals) == 1
    assert len(refused) == 9
    assert all(type(error) is InvalidState for error in refused), refused
    assert {error.code for error in refused} == {"invalid_state"}
    assert LedgerEntry.objects.filter(reverses=redemption).count() == 1
    assert LedgerEntry.objects.filter(kind=Kind.REVERSAL).count() == 1
    assert reversals[0].points == 100

    assert _available(alice) == 500 - 10 * 20 + 10 * 15 + 100
    assert _available(bob) == 400 - 10 * 25 + 10 * 10
    assert _lots_remaining(alice) == 550
    assert _lots_remaining(bob) == 250
    for member, entries in ((alice, 3 + 20 + 1), (bob, 1 + 20)):
        assert LedgerEntry.objects.filter(account__member=member).count() == entries


def test_concurrent_cancels_and_debits_return_points_to_the_lots_they_came_from(parallel, now):
    member = MemberFactory()
    soon = points_credit(member=member, points=100, now=now, expires_at=now + 5 * DAY).lot
    later = points_credit(member=member, points=100, now=now).lot
    redemptions = [points_debit(member=member, points=50, now=now) for _ in range(3)]  # 150 drawn, 50 left
    calls = [partial(debit_cancel, entry=entry, now=now) for entry in redemptions for _ in range(5)]
    calls += [partial(points_debit, member=member, points=40, now=now)] * 5

    outcomes = parallel(calls)

    cancels, debits = outcomes[:15], outcomes[15:]
    assert sum(outcome.ok for outcome in cancels) == 3
    assert {type(error) for error in _errors(cancels)} == {InvalidState}
    for entry in redemptions:
        assert LedgerEntry.objects.filter(reverses=entry).count() == 1
    # 50 + 150 returned = 200 at most; five debits of 40 fit exactly only if every cancel came first, so
    # how many succeed depends on the order, but the books must match it exactly.
    debited = sum(outcome.ok for outcome in debits)
    assert {type(error) for error in _errors(debits)} <= {InsufficientPoints}
    assert 1 <= debited <= 5
    assert _available(member) == 200 - 40 * debited
    assert _lots_remaining(member) == 200 - 40 * debited
    assert PointLot.objects.get(pk=soon.pk).remaining + PointLot.objects.get(pk=later.pk).remaining == (
        200 - 40 * debited
    )


def test_parallel_expiry_runs_expire_once(parallel, now):
    member = MemberFactory()
    points_credit(member=member, points=70, now=now - 40 * DAY, expires_at=now - DAY)
    points_credit(member=member, points=30, now=now - 40 * DAY, expires_at=now - 2 * DAY)
    points_credit(member=member, points=50, now=now)

    outcomes = parallel([partial(points_expire, member=member, now=now)] * 10)

    assert _errors(outcomes) == []
    expired = [outcome.value for outcome in outcomes if outcome.value is not None]
    assert len(expired) == 1
    assert expired[0].points == -100
    assert LedgerEntry.objects.filter(account__member=member, kind=Kind.EXPIRE).count() == 1
    assert _available(member) == 50
    assert _lots_remaining(member) == 50


def _transfer(*, source, target, points, now):
    """Debit one member and credit another in one transaction, locking both accounts in the one order."""
    with transaction.atomic():
        accounts_lock(member_ids=[source.pk, target.pk])
        points_debit(member=source, points=points, now=now, kind=Kind.ADJUST)
        points_credit(member=target, points=points, now=now, kind=Kind.ADJUST)


def test_opposite_transfers_between_two_members_do_not_deadlock(parallel, now):
    alice, bob = MemberFactory(), MemberFactory()
    points_credit(member=alice, points=1000, now=now)
    points_credit(member=bob, points=1000, now=now)
    # Half move alice -> bob, half bob -> alice: without one lock order these deadlock.
    calls = [partial(_transfer, source=alice, target=bob, points=7, now=now)] * 20
    calls += [partial(_transfer, source=bob, target=alice, points=5, now=now)] * 20

    outcomes = parallel(calls)

    assert _errors(outcomes) == []
    assert _available(alice) == 1000 - 20 * 7 + 20 * 5
    assert _available(bob) == 1000 - 20 * 5 + 20 * 7
    assert LedgerEntry.objects.filter(kind=Kind.ADJUST).count() == 80
