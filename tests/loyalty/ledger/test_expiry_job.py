"""`expire_points` (loyalty.ledger.jobs) under each expiry policy, with exact balances and lots.

Time only moves through the `now` each call is given. Purchases go through `transaction_create`, so the
lots carry the expiry the program's policy stamps on them; other lots come from `points_credit`.
"""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.test import override_settings

from loyalty.earning.jobs import activate_pending_points
from loyalty.earning.services import transaction_create
from loyalty.ledger.jobs import expire_points
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.selectors import next_expiry_of
from loyalty.ledger.services import debit_cancel, points_credit, points_debit
from loyalty.program.loading import program_load
from loyalty.program.selectors import program_get
from loyalty.shops.models import Shop
from loyalty.shops.services import api_key_create
from tests.factories import MemberFactory
from tests.support.api import Api

pytestmark = pytest.mark.django_db

Kind = LedgerEntry.Kind
UTC = dt.UTC
DAY = dt.timedelta(days=1)
MICRO = dt.timedelta(microseconds=1)
NOTHING_DUE = "expire_points: nothing due"

PROGRAM = {
    "name": "Expiry tests",
    "currency": "EUR",
    "points_per_currency_unit": "1",
    "point_value": "0.01",
    "pending_days": 0,
    "max_backdate_days": 30,
    "allow_negative_balance": False,
    "tier_window_days": 365,
    "hold_ttl_minutes": 15,
}
_orders = itertools.count(1)


def program(expiry: dict, **changes) -> None:
    program_load({"program": {**PROGRAM, "expiry": expiry, **changes}, "shops": [{"code": "shop-a", "name": "A"}]})


def buy(member, total: str, at: dt.datetime, *, now: dt.datetime | None = None):
    """A purchase of `total` EUR (1 point per EUR) that happened at `at`, reported at `now` (default `at`)."""
    order = f"order-{next(_orders)}"
    purchase = transaction_create(
        shop=Shop.objects.get(code="shop-a"), member=member, external_id=order, currency="EUR",
        total=Decimal(total), occurred_at=at, lines=None, fingerprint=order, now=now or at,
    )  # fmt: skip
    assert purchase.created
    return purchase.transaction


def lot_of(txn) -> PointLot:
    return PointLot.objects.get(entry__transaction=txn, entry__kind=Kind.EARN)


def available(member) -> int:
    return Account.objects.values_list("available", flat=True).get(member=member)


def remaining(*lots: PointLot) -> list[int]:
    return [PointLot.objects.values_list("remaining", flat=True).get(pk=lot.pk) for lot in lots]


def expire_entries(member) -> list[tuple[int, int, dt.datetime]]:
    """(points, balance_after, created_at) of the member's expire entries, oldest first."""
    return list(
        LedgerEntry.objects.filter(account__member=member, kind=Kind.EXPIRE)
        .order_by("pk")
        .values_list("points", "balance_after", "created_at")
    )


def drawn_by(entry: LedgerEntry) -> dict[int, int]:
    """{lot id: points} the entry took from each lot."""
    return dict(LotAllocation.objects.filter(entry=entry).values_list("lot_id", "points"))


def books() -> tuple[list, ...]:
    return (
        list(Account.objects.order_by("pk").values_list("pk", "available", "pending", "held")),
        list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "points", "balance_after")),
        list(PointLot.objects.order_by("pk").values_list("pk", "remaining", "pending")),
        list(LotAllocation.objects.order_by("pk").values_list("pk", "entry_id", "lot_id", "points")),
    )


@pytest.fixture
def member():
    return MemberFactory()


# --- rolling ----------------------------------------------------------------------------------------


def test_rolling_lot_expires_exactly_n_months_after_it_was_earned(member):
    program({"policy": "rolling", "months": 12})
    earned = dt.datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    lot = lot_of(buy(member, "100.00", earned))
    expires_at = dt.datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
    assert lot.expires_at == expires_at

    assert expire_points(now=expires_at - MICRO).summary() == NOTHING_DUE
    assert (available(member), remaining(lot), expire_entries(member)) == (100, [100], [])

    run = expire_points(now=expires_at)

    assert run.counts == {"points_expired": 100, "members": 1, "lots": 1}
    assert run.summary() == "expire_points: 100 points expired, 1 members, 1 lots (1 accounts in 1 chunks)"
    assert available(member) == 0
    assert remaining(lot) == [0]
    assert expire_entries(member) == [(-100, 0, expires_at)]
    entry = LedgerEntry.objects.get(account__member=member, kind=Kind.EXPIRE)
    assert (entry.pending_points, entry.held_points, entry.actor) == (0, 0, "job:expire_points")
    assert drawn_by(entry) == {lot.pk: 100}


@pytest.mark.parametrize(
    ("earned", "months", "expires"),
    [
        ((2026, 1, 31), 1, (2026, 2, 28)),
        ((2028, 1, 31), 1, (2028, 2, 29)),  # a leap year
        ((2026, 3, 31), 1, (2026, 4, 30)),
        ((2026, 8, 31), 6, (2027, 2, 28)),
        ((2027, 12, 31), 2, (2028, 2, 29)),
        ((2026, 1, 30), 1, (2026, 2, 28)),
        ((2026, 2, 28), 1, (2026, 3, 28)),  # the 28th stays the 28th: no "end of month" stickiness
    ],
)
def test_rolling_expiry_clamps_to_the_last_day_of_a_shorter_month(member, earned, months, expires):
    program({"policy": "rolling", "months": months})
    earned_at = dt.datetime(*earned, 18, 30, tzinfo=UTC)
    expires_at = dt.datetime(*expires, 18, 30, tzinfo=UTC)
    lot = lot_of(buy(member, "40.00", earned_at))
    assert lot.expires_at == expires_at

    assert expire_points(now=expires_at - MICRO).summary() == NOTHING_DUE
    assert available(member) == 40

    assert expire_points(now=expires_at).counts == {"points_expired": 40, "members": 1, "lots": 1}
    assert (available(member), remaining(lot), expire_entries(member)) == (0, [0], [(-40, 0, expires_at)])


def test_a_partly_spent_lot_expires_only_its_remainder(member, now):
    program({"policy": "rolling", "months": 12})
    soon = points_credit(member=member, points=100, now=now, expires_at=now + 10 * DAY).lot
    later = points_credit(member=member, points=50, now=now, expires_at=now + 20 * DAY).lot
    points_debit(member=member, points=30, now=now + DAY)  # drawn from the soonest-expiring lot
    assert remaining(soon, later) == [70, 50]

    assert expire_points(now=now + 10 * DAY).counts == {"points_expired": 70, "members": 1, "lots": 1}
    assert available(member) == 50
    assert remaining(soon, later) == [0, 50]
    assert expire_entries(member) == [(-70, 50, now + 10 * DAY)]

    assert expire_points(now=now + 20 * DAY).counts == {"points_expired": 50, "members": 1, "lots": 1}
    assert available(member) == 0
    assert remaining(soon, later) == [0, 0]
    assert [points for points, _, _ in expire_entries(member)] == [-70, -50]


def test_a_fully_spent_lot_past_its_expiry_expires_nothing(member, now):
    program({"policy": "rolling", "months": 12})
    spent = points_credit(member=member, points=40, now=now, expires_at=now + DAY).lot
    kept = points_credit(member=member, points=60, now=now).lot
    points_debit(member=member, points=40, now=now)

    assert expire_points(now=now + 400 * DAY).summary() == NOTHING_DUE
    assert (available(member), remaining(spent, kept), expire_entries(member)) == (60, [0, 60], [])


def test_lots_that_never_expire_survive_every_run(member, now):
    program({"policy": "rolling", "months": 1})
    forever = points_credit(member=member, points=25, now=now).lot  # expires_at None
    due = points_credit(member=member, points=75, now=now, expires_at=now + DAY).lot
    assert forever.expires_at is None

    assert expire_points(now=now + DAY).counts == {"points_expired": 75, "members": 1, "lots": 1}
    assert expire_points(now=now + 100 * 365 * DAY).summary() == NOTHING_DUE
    assert available(member) == 25
    assert remaining(forever, due) == [25, 0]


def test_one_expire_entry_per_member_per_run_however_many_lots_are_due(now):
    program({"policy": "rolling", "months": 1})
    ada, bob, cy = MemberFactory(), MemberFactory(), MemberFactory()
    ada_lots = [points_credit(member=ada, points=10 * (i + 1), now=now, expires_at=now + i * DAY + DAY).lot
                for i in range(6)]  # fmt: skip
    bob_lots = [points_credit(member=bob, points=7, now=now, expires_at=now + DAY).lot for _ in range(3)]
    bob_later = points_credit(member=bob, points=9, now=now, expires_at=now + 30 * DAY).lot
    points_credit(member=cy, points=5, now=now, expires_at=now + 30 * DAY)

    run = expire_points(now=now + 10 * DAY)

    assert run.counts == {"points_expired": 210 + 21, "members": 2, "lots": 9}
    assert (run.accounts, run.chunks) == (2, 1)
    assert expire_entries(ada) == [(-210, 0, now + 10 * DAY)]
    assert expire_entries(bob) == [(-21, 9, now + 10 * DAY)]
    assert expire_entries(cy) == []
    assert (available(ada), available(bob), available(cy)) == (0, 9, 5)
    assert remaining(*ada_lots, *bob_lots, bob_later) == [0] * 9 + [9]
    ada_entry = LedgerEntry.objects.get(account__member=ada, kind=Kind.EXPIRE)
    assert drawn_by(ada_entry) == {lot.pk: 10 * (i + 1) for i, lot in enumerate(ada_lots)}


def test_chunks_split_the_members_and_each_is_expired_once(now):
    program({"policy": "rolling", "months": 1})
    members = [MemberFactory() for _ in range(7)]
    for index, member in enumerate(members):
        for _ in range(2):
            points_credit(member=member, points=index + 1, now=now, expires_at=now + DAY)

    run = expire_points(now=now + DAY, chunk_size=3)

    assert run.counts == {"points_expired": 2 * sum(range(1, 8)), "members": 7, "lots": 14}
    assert (run.accounts, run.chunks) == (7, 3)
    assert run.summary() == "expire_points: 56 points expired, 7 members, 14 lots (7 accounts in 3 chunks)"
    for index, member in enumerate(members):
        assert expire_entries(member) == [(-2 * (index + 1), 0, now + DAY)]


def test_a_rerun_changes_nothing(now):
    program({"policy": "rolling", "months": 1})
    for _ in range(3):
        member = MemberFactory()
        points_credit(member=member, points=30, now=now, expires_at=now + DAY)
        points_credit(member=member, points=12, now=now, expires_at=now + 90 * DAY)
    first = expire_points(now=now + 2 * DAY)
    assert first.counts == {"points_expired": 90, "members": 3, "lots": 3}
    before = books()

    again = expire_points(now=now + 2 * DAY)
    later_same_day = expire_points(now=now + 2 * DAY + dt.timedelta(hours=5))

    assert again.summary() == later_same_day.summary() == NOTHING_DUE
    assert (again.chunks, again.accounts, again.counts) == (0, 0, {})
    assert books() == before


def test_points_returned_to_an_expired_lot_are_taken_by_the_next_run(member, now):
    """A cancelled redemption gives points back to the lot they came from, even one past its expiry."""
    program({"policy": "rolling", "months": 1})
    lot = points_credit(member=member, points=100, now=now, expires_at=now + DAY).lot
    redeem = points_debit(member=member, points=60, now=now)
    assert expire_points(now=now + DAY).counts == {"points_expired": 40, "members": 1, "lots": 1}
    debit_cancel(entry=redeem, now=now + 2 * DAY)
    assert (available(member), remaining(lot)) == (60, [60])

    assert expire_points(now=now + 2 * DAY).counts == {"points_expired": 60, "members": 1, "lots": 1}
    assert (available(member), remaining(lot)) == (0, [0])
    assert [points for points, _, _ in expire_entries(member)] == [-40, -60]


def test_pending_points_do_not_expire_until_they_are_activated(member):
    program({"policy": "rolling", "months": 1}, pending_days=14)
    earned = dt.datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    lot = lot_of(buy(member, "80.00", earned))
    expires_at = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert (lot.pending, lot.available_at, lot.expires_at) == (True, earned + 14 * DAY, expires_at)

    # The activation job has not run: the lot is still pending at its expiry and is left alone.
    assert expire_points(now=expires_at).summary() == NOTHING_DUE
    assert Account.objects.values_list("available", "pending").get(member=member) == (0, 80)

    activate_pending_points(now=expires_at)
    assert expire_points(now=expires_at).counts == {"points_expired": 80, "members": 1, "lots": 1}
    assert Account.objects.values_list("available", "pending").get(member=member) == (0, 0)


# --- end of year -------------------------------------------------------------------------------------


def test_end_of_year_lots_expire_at_the_first_instant_after_31_december_of_the_nth_year():
    program({"policy": "end_of_year", "years": 1})
    first, last, next_year = MemberFactory(), MemberFactory(), MemberFactory()
    early = lot_of(buy(first, "10.00", dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC)))
    late = lot_of(buy(last, "20.00", dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)))
    following = lot_of(buy(next_year, "30.00", dt.datetime(2027, 1, 1, 0, 0, tzinfo=UTC)))
    year_end = dt.datetime(2028, 1, 1, tzinfo=UTC)
    assert early.expires_at == late.expires_at == year_end
    assert following.expires_at == dt.datetime(2029, 1, 1, tzinfo=UTC)

    assert expire_points(now=year_end - MICRO).summary() == NOTHING_DUE
    run = expire_points(now=year_end)

    assert run.counts == {"points_expired": 30, "members": 2, "lots": 2}
    assert (available(first), available(last), available(next_year)) == (0, 0, 30)
    assert remaining(early, late, following) == [0, 0, 30]
    assert expire_entries(first) == [(-10, 0, year_end)]
    assert expire_entries(last) == [(-20, 0, year_end)]

    assert expire_points(now=dt.datetime(2029, 1, 1, tzinfo=UTC) - MICRO).summary() == NOTHING_DUE
    assert expire_points(now=dt.datetime(2029, 1, 1, tzinfo=UTC)).counts == {
        "points_expired": 30, "members": 1, "lots": 1,
    }  # fmt: skip


def test_end_of_year_with_several_lots_of_one_year_expires_them_in_one_entry(member):
    program({"policy": "end_of_year", "years": 1})
    lots = [
        lot_of(buy(member, f"{n}.00", dt.datetime(2026, month, 10, tzinfo=UTC)))
        for n, month in ((5, 2), (6, 7), (7, 11))
    ]
    points_debit(member=member, points=8, now=dt.datetime(2026, 12, 1, tzinfo=UTC))
    year_end = dt.datetime(2028, 1, 1, tzinfo=UTC)

    assert expire_points(now=year_end).counts == {"points_expired": 10, "members": 1, "lots": 2}
    assert expire_entries(member) == [(-10, 0, year_end)]
    assert remaining(*lots) == [0, 0, 0]


def test_end_of_year_with_zero_years_expires_at_the_end_of_the_year_earned(member):
    program({"policy": "end_of_year", "years": 0})
    lot = lot_of(buy(member, "15.00", dt.datetime(2026, 6, 30, 12, tzinfo=UTC)))
    assert lot.expires_at == dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert expire_points(now=dt.datetime(2027, 1, 1, tzinfo=UTC)).counts == {
        "points_expired": 15, "members": 1, "lots": 1,
    }  # fmt: skip


@override_settings(TIME_ZONE="Europe/Berlin")
def test_end_of_year_follows_the_programs_time_zone(member):
    program({"policy": "end_of_year", "years": 1})
    # 23:30 UTC on 31 December is already 1 January in Berlin: the lot belongs to 2027 there.
    lot = lot_of(buy(member, "10.00", dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)))
    berlin_2029 = dt.datetime(2028, 12, 31, 23, 0, tzinfo=UTC)
    assert lot.expires_at == berlin_2029

    assert expire_points(now=berlin_2029 - MICRO).summary() == NOTHING_DUE
    assert expire_points(now=berlin_2029).counts == {"points_expired": 10, "members": 1, "lots": 1}


# --- inactivity -------------------------------------------------------------------------------------


def next_expiry(member):
    return next_expiry_of(Account.objects.get(member=member), program=program_get())


def test_inactivity_expires_everything_n_months_after_the_last_purchase_and_a_purchase_pushes_it_back(member):
    program({"policy": "inactivity", "months": 6})
    first = dt.datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
    purchase_lot = lot_of(buy(member, "100.00", first))
    bonus_lot = points_credit(member=member, points=20, now=first + 20 * DAY).lot  # not a purchase
    assert purchase_lot.expires_at is None  # the job decides, from the last purchase
    assert (next_expiry(member).points, next_expiry(member).expires_at) == (
        120,
        dt.datetime(2026, 7, 10, 10, 0, tzinfo=UTC),
    )

    # A second purchase before then moves the date for everything.
    second = dt.datetime(2026, 5, 2, 16, 45, tzinfo=UTC)
    second_lot = lot_of(buy(member, "30.00", second))
    deadline = dt.datetime(2026, 11, 2, 16, 45, tzinfo=UTC)
    assert (next_expiry(member).points, next_expiry(member).expires_at) == (150, deadline)

    assert expire_points(now=dt.datetime(2026, 7, 10, 10, 0, tzinfo=UTC)).summary() == NOTHING_DUE
    assert expire_points(now=deadline - MICRO).summary() == NOTHING_DUE
    assert available(member) == 150

    run = expire_points(now=deadline)

    assert run.counts == {"points_expired": 150, "members": 1, "lots": 3}
    assert expire_entries(member) == [(-150, 0, deadline)]
    assert remaining(purchase_lot, bonus_lot, second_lot) == [0, 0, 0]
    assert next_expiry(member) is None
    assert expire_points(now=deadline + 400 * DAY).summary() == NOTHING_DUE


def test_inactivity_takes_a_partly_spent_balance_and_leaves_other_members_alone(now):
    program({"policy": "inactivity", "months": 3})
    idle, active = MemberFactory(), MemberFactory()
    lots = [lot_of(buy(idle, "50.00", now)), lot_of(buy(idle, "25.00", now + DAY))]
    points_debit(member=idle, points=60, now=now + 2 * DAY)
    buy(active, "10.00", now)
    buy(active, "10.00", now + 60 * DAY)
    deadline = dt.datetime(2026, 6, 16, 12, 0, tzinfo=UTC)  # 3 months after the idle member's last purchase
    assert next_expiry(idle).expires_at == deadline and next_expiry(idle).points == 15

    assert expire_points(now=deadline).counts == {"points_expired": 15, "members": 1, "lots": 1}
    assert (available(idle), available(active)) == (0, 20)
    assert remaining(*lots) == [0, 0]
    assert expire_entries(active) == []


def test_inactivity_next_expiry_on_the_member_object(member):
    program({"policy": "inactivity", "months": 6})
    _, key = api_key_create(shop=Shop.objects.get(code="shop-a"))
    api = Api(key, Shop.objects.get(code="shop-a"))
    buy(member, "42.00", dt.datetime(2026, 1, 10, 10, 0, tzinfo=UTC))
    buy(member, "8.00", dt.datetime(2026, 3, 4, 8, 15, tzinfo=UTC))

    body = api.get(f"/api/v1/members/{member.public_id}").json()

    assert body["balance"] == {"available": 50, "pending": 0, "held": 0}
    assert body["next_expiry"]["points"] == 50
    assert dt.datetime.fromisoformat(body["next_expiry"]["expires_at"]) == dt.datetime(2026, 9, 4, 8, 15, tzinfo=UTC)


def test_inactivity_expires_at_the_instant_next_expiry_announces_even_at_a_month_end(member):
    """The last purchase on 31 January + 1 month: the member is told 28 February, and that is when the
    points must go (the same clamping as the rolling policy)."""
    program({"policy": "inactivity", "months": 1})
    buy(member, "70.00", dt.datetime(2026, 1, 31, 10, 0, tzinfo=UTC))
    announced = next_expiry(member).expires_at
    assert announced == dt.datetime(2026, 2, 28, 10, 0, tzinfo=UTC)

    assert expire_points(now=announced - MICRO).summary() == NOTHING_DUE
    assert expire_points(now=announced).counts == {"points_expired": 70, "members": 1, "lots": 1}
    assert available(member) == 0


def test_inactivity_for_a_member_who_never_purchased_counts_from_each_lot(now):
    program({"policy": "inactivity", "months": 2})
    member = MemberFactory()
    old = points_credit(member=member, points=40, now=now).lot
    new = points_credit(member=member, points=15, now=now + 30 * DAY).lot
    old_deadline = dt.datetime(2026, 5, 15, 12, 0, tzinfo=UTC)

    assert expire_points(now=old_deadline - MICRO).summary() == NOTHING_DUE
    assert expire_points(now=old_deadline).counts == {"points_expired": 40, "members": 1, "lots": 1}
    assert (available(member), remaining(old, new)) == (15, [0, 15])
    assert expire_points(now=dt.datetime(2026, 6, 14, 12, 0, tzinfo=UTC)).counts == {
        "points_expired": 15, "members": 1, "lots": 1,
    }  # fmt: skip


def test_inactivity_next_expiry_is_shown_for_a_member_who_never_purchased(now):
    """The job expires a non-purchaser's points N months after they were credited (test above); the member
    object must announce that instead of saying nothing expires."""
    program({"policy": "inactivity", "months": 2})
    member = MemberFactory()
    points_credit(member=member, points=40, now=now)

    expiry = next_expiry(member)

    assert expiry is not None, "next_expiry is null although expire_points takes these 40 points on 15 May"
    assert (expiry.points, expiry.expires_at) == (40, dt.datetime(2026, 5, 15, 12, 0, tzinfo=UTC))


# --- never ------------------------------------------------------------------------------------------


def test_never_expires_nothing_ever(member, now):
    program({"policy": "never"})
    lots = [lot_of(buy(member, "60.00", now)), lot_of(buy(member, "40.00", now + DAY))]
    assert [lot.expires_at for lot in lots] == [None, None]
    assert next_expiry(member) is None

    for later in (now + 365 * DAY, now + 100 * 365 * DAY, dt.datetime(9999, 12, 31, tzinfo=UTC)):
        run = expire_points(now=later)
        assert run.summary() == NOTHING_DUE
        assert (run.chunks, run.accounts) == (0, 0)
    assert available(member) == 100
    assert remaining(*lots) == [60, 40]
    assert expire_entries(member) == []


def test_after_switching_to_never_the_member_object_announces_no_expiry(member, now):
    """Lots earned under a rolling policy keep their `expires_at`; once the program says "never", the job
    expires nothing, so the member object must not announce an expiry that will not happen."""
    program({"policy": "rolling", "months": 12})
    lot = lot_of(buy(member, "100.00", now))
    assert lot.expires_at == dt.datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
    program({"policy": "never"})

    assert expire_points(now=lot.expires_at).summary() == NOTHING_DUE
    assert available(member) == 100
    assert next_expiry(member) is None, "next_expiry announces 100 points expiring although nothing expires"
