"""The periodic jobs on real threads against real PostgreSQL transactions.

Several runs of one job share the work through `FOR UPDATE SKIP LOCKED` and do each member once; jobs
running beside checkouts on the same members neither deadlock nor lose or double a point. Every test
commits for real (transaction=True); the suite-wide ledger_verify() runs after each on top of the asserts.
"""

import datetime as dt
import itertools
import random
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from decimal import Decimal
from functools import partial

import pytest
from django.db.models import Sum

from loyalty.earning.jobs import activate_pending_points
from loyalty.earning.models import Transaction
from loyalty.earning.services import refund_create, transaction_create
from loyalty.holds.errors import HoldNotActive
from loyalty.holds.jobs import release_expired_holds
from loyalty.holds.services import hold_capture, hold_create, hold_void
from loyalty.ledger.errors import InsufficientPoints
from loyalty.ledger.jobs import expire_points
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.services import points_credit, points_debit
from loyalty.ledger.verify import ledger_verify
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop
from loyalty.tiers.jobs import recalculate_tiers
from loyalty.tiers.models import TierChange
from loyalty.tiers.selectors import tier_for
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)

Kind = LedgerEntry.Kind
UTC = dt.UTC
DAY = dt.timedelta(days=1)
T = dt.datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # the lots below expire at T; everything runs as of T
DEADLINE = 180  # seconds: longer than any healthy run; a run still going then is stuck

PROGRAM = {
    "name": "Job races",
    "currency": "EUR",
    "points_per_currency_unit": "1",
    "pending_days": 0,
    "expiry": {"policy": "rolling", "months": 12},
    "max_backdate_days": 30,
    "allow_negative_balance": False,
    "tier_window_days": 365,
    "hold_ttl_minutes": 15,
}
TIERS = [
    {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"},
    {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "1.5"},
    {"code": "gold", "name": "Gold", "threshold": 2000, "multiplier": "2"},
]


def guarded(parallel, calls, *, threads: int):
    """`parallel(calls)` with a deadline: a deadlock or a lock wait that never ends fails the test."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(parallel, calls, threads=threads)
    try:
        return future.result(timeout=DEADLINE)
    except FutureTimeout:
        pytest.fail(f"the threads did not finish within {DEADLINE} s: deadlock or endless lock wait")
    finally:
        pool.shutdown(wait=False)


def expire_entries_by_member() -> dict[int, list[int]]:
    rows = LedgerEntry.objects.filter(kind=Kind.EXPIRE).order_by("pk").values_list("account__member_id", "points")
    found: dict[int, list[int]] = defaultdict(list)
    for member_id, points in rows:
        found[member_id].append(points)
    return found


# --- several runs of expire_points at once ---------------------------------------------------------


@pytest.mark.parametrize("runs", [2, 4])
def test_concurrent_expiry_runs_expire_each_member_exactly_once(parallel, runs):
    program_load({"program": PROGRAM})
    members, due = [], {}
    for index in range(200):
        member = MemberFactory()
        due[member.pk] = 10 + index
        points_credit(member=member, points=due[member.pk], now=T - 30 * DAY, expires_at=T)
        if index % 3 == 0:  # a second due lot for some
            points_credit(member=member, points=4, now=T - 20 * DAY, expires_at=T - DAY)
            due[member.pk] += 4
        points_credit(member=member, points=5, now=T - 30 * DAY)  # never expires
        members.append(member)
    total_due = sum(due.values())

    outcomes = guarded(parallel, [partial(expire_points, now=T, chunk_size=10)] * runs, threads=runs)

    assert [outcome.error for outcome in outcomes if not outcome.ok] == []
    jobs = [outcome.value for outcome in outcomes]
    assert sum(run.counts.get("points_expired", 0) for run in jobs) == total_due
    assert sum(run.counts.get("members", 0) for run in jobs) == 200
    assert sum(run.counts.get("lots", 0) for run in jobs) == 200 + 67
    found = expire_entries_by_member()
    assert {member.pk: found[member.pk] for member in members} == {member.pk: [-due[member.pk]] for member in members}
    assert set(Account.objects.values_list("available", flat=True)) == {5}
    assert PointLot.objects.filter(expires_at__lte=T, remaining__gt=0).count() == 0
    assert LotAllocation.objects.filter(entry__kind=Kind.EXPIRE).aggregate(total=Sum("points"))["total"] == total_due
    # Nothing is left for another run.
    assert expire_points(now=T).summary() == "expire_points: nothing due"


# --- jobs beside checkouts on the same members -------------------------------------------------------


def test_jobs_beside_debits_credits_and_purchases_neither_deadlock_nor_lose_a_point(parallel):
    program_load({"program": PROGRAM, "tiers": TIERS, "shops": [{"code": "shop-a", "name": "A"}]})
    shop = Shop.objects.get(code="shop-a")
    members, due_lot = [], {}
    for _ in range(30):
        member = MemberFactory()
        due_lot[member.pk] = points_credit(member=member, points=100, now=T - 60 * DAY, expires_at=T).lot.pk
        points_credit(member=member, points=50, now=T - 60 * DAY)  # never expires
        members.append(member)
    orders = itertools.count(1)

    def purchase(member, total: str):
        order = f"order-{next(orders)}"
        txn = transaction_create(
            shop=shop, member=member, external_id=order, currency="EUR", total=Decimal(total), occurred_at=T,
            lines=None, fingerprint=order, now=T,
        ).transaction  # fmt: skip
        return txn

    writes: list[tuple[str, int, object]] = []  # (kind, member id, call) in the order of `calls`
    for index, member in enumerate(members):
        for _ in range(3):
            writes.append(("debit", member.pk, partial(points_debit, member=member, points=60, now=T)))
        writes.append(("credit", member.pk, partial(points_credit, member=member, points=20, now=T)))
        total = ("600.00", "150.00", "2100.00")[index % 3]
        writes.append(("purchase", member.pk, partial(purchase, member, total)))
    jobs = (
        [partial(expire_points, now=T, chunk_size=5)] * 3
        + [partial(recalculate_tiers, now=T, chunk_size=5)] * 3
        + [partial(activate_pending_points, now=T, chunk_size=5)]
    )
    calls = [("job", None, job) for job in jobs] + writes
    random.Random(20260315).shuffle(calls)

    outcomes = guarded(parallel, [call for _, _, call in calls], threads=16)

    errors = [outcome.error for outcome in outcomes if not outcome.ok]
    assert all(type(error) is InsufficientPoints for error in errors), errors
    assert all(outcome.ok for (kind, _, _), outcome in zip(calls, outcomes, strict=True) if kind != "debit")
    assert ledger_verify() == []

    # Whatever a concurrent run skipped (an account a checkout held at that instant), a quiet run finishes.
    expire_points(now=T)
    recalculate_tiers(now=T)

    effect: Counter[int] = Counter({member.pk: 150 for member in members})
    for (kind, member_id, _), outcome in zip(calls, outcomes, strict=True):
        if not outcome.ok:
            continue
        if kind == "debit":
            effect[member_id] -= 60
        elif kind == "credit":
            effect[member_id] += 20
        elif kind == "purchase":
            effect[member_id] += outcome.value.points
    expired = expire_entries_by_member()
    for member in members:
        entries = expired.get(member.pk, [])
        assert len(entries) <= 1, f"member {member.pk} expired more than once: {entries}"
        account = Account.objects.get(member=member)
        assert account.available == effect[member.pk] + sum(entries)
        # The due lot went exactly once: partly to debits that drew it first, the rest to expiry.
        drawn = LotAllocation.objects.filter(lot_id=due_lot[member.pk], entry__kind=Kind.REDEEM).aggregate(
            total=Sum("points")
        )["total"]
        assert (drawn or 0) - sum(entries) == 100
        assert PointLot.objects.get(pk=due_lot[member.pk]).remaining == 0
        # Tiers: every member holds the tier their purchases reach, reached by a chain of upgrades.
        qualifying = Transaction.objects.filter(member=member).aggregate(total=Sum("qualifying_points"))["total"] or 0
        assert account.tier_id == tier_for(qualifying).pk
        moves = list(
            TierChange.objects.filter(account=account)
            .order_by("pk")
            .values_list("from_tier_id", "to_tier_id", "reason")
        )
        assert all(reason == "upgrade" for _, _, reason in moves)
        assert [to for _, to, _ in moves][-1] == account.tier_id
        assert [frm for frm, _, _ in moves] == [None, *[to for _, to, _ in moves][:-1]]
    assert expire_points(now=T).summary() == "expire_points: nothing due"
    assert recalculate_tiers(now=T).counts == {}


def test_hold_release_racing_captures_and_voids_resolves_each_hold_exactly_once(parallel):
    """Checkouts capture or void holds a second before their expiry while two runs of the release job, a
    second after it, take the same holds: each hold ends one way, and its points are spent or back, once."""
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "A"}]})
    shop = Shop.objects.get(code="shop-a")
    holds = []
    for index in range(40):
        member = MemberFactory()
        points_credit(member=member, points=100, now=T - DAY, expires_at=T + 30 * DAY)
        held = hold_create(shop=shop, member=member, points=70, external_id=f"pay-{index}", fingerprint="-", now=T).hold
        holds.append(held)
    expiry = T + 15 * dt.timedelta(minutes=1)
    checkouts = [
        partial(hold_capture, hold=held, points=None, now=expiry - dt.timedelta(seconds=1))
        if index % 2 == 0
        else partial(hold_void, hold=held, now=expiry - dt.timedelta(seconds=1))
        for index, held in enumerate(holds)
    ]
    jobs = [partial(release_expired_holds, now=expiry, chunk_size=5) for _ in range(2)]  # distinct objects
    calls = jobs + checkouts
    random.Random(7).shuffle(calls)

    outcomes = guarded(parallel, calls, threads=12)

    by_call = dict(zip(map(id, calls), outcomes, strict=True))
    job_runs = [by_call[id(call)] for call in calls if call in jobs]
    errors = [outcome.error for outcome in outcomes if not outcome.ok]
    assert all(type(error) is HoldNotActive for error in errors), errors
    assert all(run.ok for run in job_runs)
    released = sum(run.value.counts.get("holds_released", 0) for run in job_runs)
    assert released == len(errors)  # a checkout was refused exactly when the job had taken its hold
    for index, (held, checkout) in enumerate(zip(holds, checkouts, strict=True)):
        outcome = by_call[id(checkout)]
        held.refresh_from_db()
        account = Account.objects.get(member_id=held.member_id)
        kinds = list(LedgerEntry.objects.filter(account=account).order_by("pk").values_list("kind", flat=True))
        if outcome.ok:
            assert held.status == ("captured" if index % 2 == 0 else "voided")
            expected = (30 if index % 2 == 0 else 100, 0)
        else:
            assert held.status == "expired"
            assert kinds[-1] == Kind.RELEASE
            expected = (100, 0)
        assert (account.available, account.held) == expected
        assert kinds.count(Kind.RELEASE) + kinds.count(Kind.CAPTURE) == 1
    assert release_expired_holds(now=expiry).summary() == "release_expired_holds: nothing due"


def test_activation_racing_refunds_of_the_same_purchases_ends_with_the_same_balances(parallel):
    """A refund of 40 of a pending purchase of 100 cancels 40 pending points before activation, or claws back
    40 available points after it: either way 60 points end up available, once."""
    program_load({"program": {**PROGRAM, "pending_days": 14}, "shops": [{"code": "shop-a", "name": "A"}]})
    shop = Shop.objects.get(code="shop-a")
    purchases = []
    for index in range(40):
        member = MemberFactory()
        txn = transaction_create(
            shop=shop, member=member, external_id=f"order-{index}", currency="EUR", total=Decimal("100.00"),
            occurred_at=T, lines=None, fingerprint="-", now=T,
        ).transaction  # fmt: skip
        purchases.append(txn)
    due = T + 14 * DAY
    refunds = [
        partial(
            refund_create,
            shop=shop,
            txn=txn,
            external_id=f"refund-{i}",
            amount=Decimal("40.00"),
            fingerprint="-",
            now=due,
        )  # fmt: skip
        for i, txn in enumerate(purchases)
    ]
    calls = [partial(activate_pending_points, now=due, chunk_size=4)] * 2 + refunds
    random.Random(11).shuffle(calls)

    outcomes = guarded(parallel, calls, threads=12)

    assert [outcome.error for outcome in outcomes if not outcome.ok] == []
    activate_pending_points(now=due)  # whatever the racing runs skipped
    assert set(Account.objects.values_list("available", "pending", "held")) == {(60, 0, 0)}
    for txn in purchases:
        txn.refresh_from_db()
        assert (txn.points_status, txn.points_clawed_back, txn.qualifying_points) == ("available", 40, 60)
        assert LedgerEntry.objects.filter(account__member_id=txn.member_id, kind=Kind.ACTIVATE).count() == 1
    assert activate_pending_points(now=due).summary() == "activate_pending_points: nothing due"
