"""The ledger's services (loyalty.ledger: services, holding, lots), as worked scenarios with exact values.

Every refusal also asserts that nothing was written: balances, entries, lots and allocations.
"""

import datetime as dt

import pytest

from loyalty.errors import InvalidRequest, InvalidState, MemberNotFound
from loyalty.ledger.errors import EntryNotFound, InsufficientPoints
from loyalty.ledger.lots import Draw, lots_draw_plan
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.services import debit_cancel, points_credit, points_debit, points_expire
from loyalty.ledger.verify import ledger_verify
from members.models import Member
from tests.factories import MemberFactory

Kind = LedgerEntry.Kind
DAY = dt.timedelta(days=1)


def books() -> tuple[list, ...]:
    """Every row the ledger has, to compare before and after a refused call."""
    return (
        list(Account.objects.order_by("pk").values_list("pk", "member_id", "available", "pending", "held")),
        list(
            LedgerEntry.objects.order_by("pk").values_list(
                "pk", "account_id", "kind", "points", "pending_points", "balance_after", "reverses_id"
            )
        ),
        list(PointLot.objects.order_by("pk").values_list("pk", "amount", "remaining", "pending", "expires_at")),
        list(LotAllocation.objects.order_by("pk").values_list("pk", "entry_id", "lot_id", "points")),
    )


def balances(member: Member) -> tuple[int, int]:
    """(available, pending) of the member's account."""
    return Account.objects.filter(member=member).values_list("available", "pending").get()


def remaining(entry: LedgerEntry) -> int:
    """What is left of the lot a credit created."""
    return PointLot.objects.values_list("remaining", flat=True).get(entry=entry)


def allocations(entry: LedgerEntry) -> dict[int, int]:
    """{lot id: points} the entry took from (positive) or gave back to (negative) lots."""
    return dict(LotAllocation.objects.filter(entry=entry).values_list("lot_id", "points"))


def lot_of(entry: LedgerEntry) -> int:
    return PointLot.objects.values_list("pk", flat=True).get(entry=entry)


@pytest.fixture
def member(db):
    return MemberFactory()


# --- credit ----------------------------------------------------------------------------------------


def test_credit_creates_an_entry_and_a_lot(member, now):
    expires_at = now + 365 * DAY

    entry = points_credit(member=member, points=120, now=now, expires_at=expires_at, reference="tx-1")

    assert balances(member) == (120, 0)
    entry = LedgerEntry.objects.get(pk=entry.pk)
    assert (entry.kind, entry.points, entry.pending_points, entry.balance_after) == (Kind.EARN, 120, 0, 120)
    assert entry.created_at == now and entry.reference == "tx-1"
    assert entry.public_id.startswith("ent_")
    lot = PointLot.objects.get(entry=entry)
    assert (lot.amount, lot.remaining, lot.pending) == (120, 120, False)
    assert (lot.available_at, lot.expires_at, lot.created_at) == (now, expires_at, now)
    assert not LotAllocation.objects.exists()


def test_credits_add_up_and_balance_after_is_the_running_sum(member, now):
    first = points_credit(member=member, points=100, now=now)
    second = points_credit(member=member, points=25, now=now + DAY, kind=Kind.BONUS)
    third = points_credit(member=member, points=5, now=now + 2 * DAY, kind=Kind.ADJUST)

    assert balances(member) == (130, 0)
    assert [e.balance_after for e in (first, second, third)] == [100, 125, 130]
    assert list(LedgerEntry.objects.order_by("pk").values_list("kind", flat=True)) == ["earn", "bonus", "adjust"]


def test_pending_credit_counts_as_pending_not_available(member, now):
    entry = points_credit(member=member, points=80, now=now, available_at=now + 14 * DAY)

    assert balances(member) == (0, 80)
    entry = LedgerEntry.objects.get(pk=entry.pk)
    assert (entry.points, entry.pending_points, entry.balance_after) == (0, 80, 0)
    lot = PointLot.objects.get(entry=entry)
    assert (lot.amount, lot.remaining, lot.pending, lot.available_at) == (80, 80, True, now + 14 * DAY)


def test_credit_available_at_now_or_earlier_is_available_at_once(member, now):
    points_credit(member=member, points=10, now=now, available_at=now)
    points_credit(member=member, points=20, now=now, available_at=now - DAY)

    assert balances(member) == (30, 0)
    assert not PointLot.objects.filter(pending=True).exists()


def test_pending_points_cannot_be_debited(member, now):
    points_credit(member=member, points=50, now=now)
    points_credit(member=member, points=80, now=now, available_at=now + 14 * DAY)
    before = books()

    with pytest.raises(InsufficientPoints) as refused:
        points_debit(member=member, points=51, now=now)

    assert (refused.value.code, refused.value.status, refused.value.param) == ("insufficient_points", 422, "points")
    assert refused.value.details == {"available": 50, "requested": 51}
    assert books() == before


def test_debit_never_draws_from_a_pending_lot(member, now):
    pending = points_credit(member=member, points=80, now=now, available_at=now + DAY, expires_at=now + 2 * DAY)
    available = points_credit(member=member, points=50, now=now, expires_at=now + 300 * DAY)

    points_debit(member=member, points=50, now=now)

    assert (remaining(pending), remaining(available)) == (80, 0)
    assert balances(member) == (0, 80)


# --- the order debits draw in ----------------------------------------------------------------------


def test_debit_draws_soonest_expiring_first_never_expiring_last_ties_by_creation(member, now):
    never = points_credit(member=member, points=100, now=now)
    late = points_credit(member=member, points=100, now=now, expires_at=now + 30 * DAY)
    soon = points_credit(member=member, points=100, now=now, expires_at=now + 10 * DAY)
    late_too = points_credit(member=member, points=100, now=now, expires_at=now + 30 * DAY)  # tie with `late`

    debit = points_debit(member=member, points=250, now=now)

    assert {e.pk: remaining(e) for e in (soon, late, late_too, never)} == {
        soon.pk: 0,
        late.pk: 0,
        late_too.pk: 50,
        never.pk: 100,
    }
    assert allocations(debit) == {lot_of(soon): 100, lot_of(late): 100, lot_of(late_too): 50}
    assert balances(member) == (150, 0)
    assert LedgerEntry.objects.get(pk=debit.pk).balance_after == 150


def test_debit_reaches_never_expiring_lots_only_after_all_others(member, now):
    never = points_credit(member=member, points=40, now=now)
    soon = points_credit(member=member, points=30, now=now, expires_at=now + DAY)

    debit = points_debit(member=member, points=45, now=now)

    assert (remaining(soon), remaining(never)) == (0, 25)
    assert allocations(debit) == {lot_of(soon): 30, lot_of(never): 15}


def test_draw_plan_lists_just_the_lots_needed_in_draw_order(member, now):
    never = points_credit(member=member, points=100, now=now)
    late = points_credit(member=member, points=60, now=now, expires_at=now + 30 * DAY)
    soon = points_credit(member=member, points=40, now=now, expires_at=now + 10 * DAY)
    points_credit(member=member, points=70, now=now, available_at=now + DAY)  # pending: never drawn
    account_id = Account.objects.get(member=member).pk

    assert lots_draw_plan(account_id=account_id, points=40) == [Draw(lot_of(soon), 40)]
    assert lots_draw_plan(account_id=account_id, points=41) == [Draw(lot_of(soon), 40), Draw(lot_of(late), 1)]
    assert lots_draw_plan(account_id=account_id, points=200) == [
        Draw(lot_of(soon), 40),
        Draw(lot_of(late), 60),
        Draw(lot_of(never), 100),
    ]
    assert lots_draw_plan(account_id=account_id, points=0) == []
    assert lots_draw_plan(account_id=account_id, points=-5) == []


def test_draw_plan_skips_spent_lots(member, now):
    spent = points_credit(member=member, points=30, now=now, expires_at=now + DAY)
    kept = points_credit(member=member, points=30, now=now, expires_at=now + 2 * DAY)
    points_debit(member=member, points=30, now=now)
    account_id = Account.objects.get(member=member).pk

    assert remaining(spent) == 0
    assert lots_draw_plan(account_id=account_id, points=10) == [Draw(lot_of(kept), 10)]


def test_debit_of_the_whole_balance_empties_every_lot(member, now):
    lots = [points_credit(member=member, points=p, now=now, expires_at=now + p * DAY) for p in (5, 7, 11)]

    points_debit(member=member, points=23, now=now)

    assert [remaining(e) for e in lots] == [0, 0, 0]
    assert balances(member) == (0, 0)


def test_debit_of_one_more_than_available_is_refused_and_writes_nothing(member, now):
    points_credit(member=member, points=100, now=now, expires_at=now + DAY)
    points_debit(member=member, points=30, now=now)
    before = books()

    with pytest.raises(InsufficientPoints) as refused:
        points_debit(member=member, points=71, now=now)

    assert (refused.value.code, refused.value.status, refused.value.type) == (
        "insufficient_points",
        422,
        "business_rule",
    )
    assert refused.value.details == {"available": 70, "requested": 71}
    assert books() == before


def test_debit_of_a_member_without_an_account_is_insufficient_and_writes_nothing(member, now):
    before = books()

    with pytest.raises(InsufficientPoints):
        points_debit(member=member, points=1, now=now)

    assert books() == before  # not even the account row the lock would have created


def test_debits_of_one_member_leave_another_alone(member, now):
    other = MemberFactory()
    mine = points_credit(member=member, points=50, now=now, expires_at=now + DAY)
    theirs = points_credit(member=other, points=50, now=now, expires_at=now + DAY)

    points_debit(member=member, points=20, now=now)

    assert (remaining(mine), remaining(theirs)) == (30, 50)
    assert (balances(member), balances(other)) == ((30, 0), (50, 0))


# --- cancelling a debit ----------------------------------------------------------------------------


def test_cancel_gives_the_points_back_to_the_lots_they_came_from(member, now):
    soon = points_credit(member=member, points=100, now=now, expires_at=now + 10 * DAY)
    late = points_credit(member=member, points=100, now=now, expires_at=now + 30 * DAY)
    never = points_credit(member=member, points=100, now=now)
    debit = points_debit(member=member, points=150, now=now, reference="order-7")
    points_debit(member=member, points=20, now=now)  # another debit, not cancelled: late 50 -> 30
    assert (remaining(soon), remaining(late), remaining(never)) == (0, 30, 100)

    reversal = debit_cancel(entry=debit, now=now + DAY, actor="staff:ada")

    assert (remaining(soon), remaining(late), remaining(never)) == (100, 80, 100)
    assert balances(member) == (280, 0)
    reversal = LedgerEntry.objects.get(pk=reversal.pk)
    assert (reversal.kind, reversal.points, reversal.balance_after) == (Kind.REVERSAL, 150, 280)
    assert (reversal.reverses_id, reversal.reference, reversal.actor) == (debit.pk, "order-7", "staff:ada")
    assert reversal.created_at == now + DAY
    assert allocations(reversal) == {lot_of(soon): -100, lot_of(late): -50}


def test_cancelling_a_debit_adjustment_is_allowed(member, now):
    credit = points_credit(member=member, points=40, now=now)
    adjustment = points_debit(member=member, points=15, now=now, kind=Kind.ADJUST)

    debit_cancel(entry=adjustment, now=now)

    assert remaining(credit) == 40
    assert balances(member) == (40, 0)


def test_cancelling_twice_is_invalid_state_and_writes_nothing(member, now):
    points_credit(member=member, points=100, now=now)
    debit = points_debit(member=member, points=60, now=now)
    debit_cancel(entry=debit, now=now)
    before = books()

    with pytest.raises(InvalidState) as refused:
        debit_cancel(entry=debit, now=now + DAY)

    assert (refused.value.code, refused.value.status, refused.value.param) == ("invalid_state", 422, "entry")
    assert books() == before


@pytest.mark.parametrize("kind", [Kind.EARN, Kind.BONUS, Kind.ADJUST])
def test_cancelling_a_credit_is_invalid_state_and_writes_nothing(member, now, kind):
    credit = points_credit(member=member, points=100, now=now, kind=kind)
    before = books()

    with pytest.raises(InvalidState) as refused:
        debit_cancel(entry=credit, now=now)

    assert refused.value.code == "invalid_state"
    assert books() == before


def test_cancelling_a_reversal_is_invalid_state_and_writes_nothing(member, now):
    points_credit(member=member, points=100, now=now)
    reversal = debit_cancel(entry=points_debit(member=member, points=60, now=now), now=now)
    before = books()

    with pytest.raises(InvalidState):
        debit_cancel(entry=reversal, now=now)

    assert books() == before


def test_cancelling_an_expiry_or_a_claw_back_is_invalid_state_and_writes_nothing(member, now):
    points_credit(member=member, points=100, now=now, expires_at=now + DAY)
    points_credit(member=member, points=50, now=now)
    expiry = points_expire(member=member, now=now + DAY)
    claw_back = points_debit(member=member, points=10, now=now + DAY, kind=Kind.CLAWBACK)
    before = books()

    for entry in (expiry, claw_back):
        with pytest.raises(InvalidState) as refused:
            debit_cancel(entry=entry, now=now + DAY)
        assert refused.value.code == "invalid_state"

    assert books() == before


def test_cancelling_an_unsaved_entry_is_entry_not_found(member, now):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(EntryNotFound) as refused:
        debit_cancel(entry=LedgerEntry(kind=Kind.REDEEM, points=-5), now=now)

    assert (refused.value.code, refused.value.status) == ("entry_not_found", 404)
    assert books() == before


def test_points_given_back_to_an_expired_lot_expire_at_the_next_run(member, now):
    lot = points_credit(member=member, points=100, now=now, expires_at=now + 10 * DAY)
    debit = points_debit(member=member, points=60, now=now)
    first_expiry = points_expire(member=member, now=now + 10 * DAY)
    assert (first_expiry.points, remaining(lot), balances(member)) == (-40, 0, (0, 0))

    debit_cancel(entry=debit, now=now + 11 * DAY)
    assert (remaining(lot), balances(member)) == (60, (60, 0))

    second_expiry = points_expire(member=member, now=now + 11 * DAY)
    assert second_expiry.points == -60
    assert (remaining(lot), balances(member)) == (0, (0, 0))


def test_cancel_while_the_balance_is_negative_settles_the_debt_first(member, now):
    soon = points_credit(member=member, points=100, now=now, expires_at=now + 10 * DAY)
    late = points_credit(member=member, points=50, now=now, expires_at=now + 20 * DAY)
    redemption = points_debit(member=member, points=120, now=now)  # soon 100 -> 0, late 50 -> 30
    points_debit(member=member, points=60, now=now, kind=Kind.CLAWBACK, allow_negative=True)  # -30
    assert (remaining(soon), remaining(late), balances(member)) == (0, 0, (-30, 0))

    reversal = debit_cancel(entry=redemption, now=now)

    # 120 come back: 30 pay the debt, taken from the soonest-expiring lot's share, the rest to the lots.
    assert balances(member) == (90, 0)
    assert (remaining(soon), remaining(late)) == (70, 20)
    assert allocations(reversal) == {lot_of(soon): -70, lot_of(late): -20}


# --- expiry ----------------------------------------------------------------------------------------


def test_expire_takes_only_lots_that_are_due(member, now):
    due_earlier = points_credit(member=member, points=10, now=now, expires_at=now + 5 * DAY)
    due_now = points_credit(member=member, points=20, now=now, expires_at=now + 30 * DAY)
    not_due = points_credit(member=member, points=40, now=now, expires_at=now + 30 * DAY + dt.timedelta(seconds=1))
    never = points_credit(member=member, points=80, now=now)

    entry = points_expire(member=member, now=now + 30 * DAY)

    assert [remaining(e) for e in (due_earlier, due_now, not_due, never)] == [0, 0, 40, 80]
    assert balances(member) == (120, 0)
    entry = LedgerEntry.objects.get(pk=entry.pk)
    assert (entry.kind, entry.points, entry.balance_after, entry.created_at) == (
        Kind.EXPIRE,
        -30,
        120,
        now + 30 * DAY,
    )
    assert allocations(entry) == {lot_of(due_earlier): 10, lot_of(due_now): 20}
    assert LedgerEntry.objects.filter(kind=Kind.EXPIRE).count() == 1


def test_expire_takes_only_the_remainder_of_a_partly_spent_lot(member, now):
    lot = points_credit(member=member, points=100, now=now, expires_at=now + 10 * DAY)
    points_credit(member=member, points=50, now=now)
    points_debit(member=member, points=65, now=now)

    entry = points_expire(member=member, now=now + 10 * DAY)

    assert entry.points == -35
    assert remaining(lot) == 0
    assert balances(member) == (50, 0)


def test_expire_never_touches_never_expiring_lots(member, now):
    never = points_credit(member=member, points=100, now=now)

    assert points_expire(member=member, now=now + 100_000 * DAY) is None
    assert remaining(never) == 100
    assert balances(member) == (100, 0)
    assert LedgerEntry.objects.filter(kind=Kind.EXPIRE).count() == 0


def test_expire_leaves_pending_lots_alone(member, now):
    pending = points_credit(member=member, points=100, now=now, available_at=now + DAY, expires_at=now + 2 * DAY)
    before = books()

    assert points_expire(member=member, now=now + 3 * DAY) is None
    assert remaining(pending) == 100
    assert books() == before


def test_expire_again_returns_none_and_changes_nothing(member, now):
    points_credit(member=member, points=10, now=now, expires_at=now + DAY)
    points_credit(member=member, points=20, now=now, expires_at=now + 2 * DAY)
    points_credit(member=member, points=5, now=now)
    first = points_expire(member=member, now=now + 2 * DAY)
    before = books()

    again = points_expire(member=member, now=now + 2 * DAY)
    later = points_expire(member=member, now=now + 3 * DAY)

    assert first.points == -30
    assert (again, later) == (None, None)
    assert books() == before


def test_expire_with_nothing_due_writes_nothing(member, now):
    points_credit(member=member, points=10, now=now, expires_at=now + DAY)
    before = books()

    assert points_expire(member=member, now=now + DAY - dt.timedelta(microseconds=1)) is None
    assert books() == before


def test_expire_for_a_member_without_an_account_is_none(member, now):
    assert points_expire(member=member, now=now) is None
    assert not LedgerEntry.objects.exists()


# --- claw-backs and negative balances --------------------------------------------------------------


def test_claw_back_may_overdraw_and_a_later_credit_settles_the_debt(member, now):
    first = points_credit(member=member, points=100, now=now, expires_at=now + 10 * DAY)
    claw_back = points_debit(member=member, points=150, now=now, kind=Kind.CLAWBACK, allow_negative=True)
    assert (remaining(first), balances(member)) == (0, (-50, 0))
    assert LedgerEntry.objects.get(pk=claw_back.pk).balance_after == -50
    assert allocations(claw_back) == {lot_of(first): 100}

    small = points_credit(member=member, points=20, now=now + DAY)
    assert (remaining(small), balances(member)) == (0, (-30, 0))
    assert allocations(small) == {lot_of(small): 20}

    settling = points_credit(member=member, points=80, now=now + 2 * DAY)
    assert (remaining(settling), balances(member)) == (50, (50, 0))  # 80 - 30 of debt
    assert allocations(settling) == {lot_of(settling): 30}
    assert LedgerEntry.objects.get(pk=settling.pk).balance_after == 50
    assert ledger_verify() == []


def test_claw_back_from_an_empty_account_goes_negative(member, now):
    points_credit(member=member, points=1, now=now)
    points_debit(member=member, points=1, now=now)

    points_debit(member=member, points=40, now=now, kind=Kind.CLAWBACK, allow_negative=True)

    assert balances(member) == (-40, 0)
    assert ledger_verify() == []


def test_pending_credit_does_not_settle_a_debt(member, now):
    points_credit(member=member, points=10, now=now)
    points_debit(member=member, points=30, now=now, kind=Kind.CLAWBACK, allow_negative=True)

    pending = points_credit(member=member, points=50, now=now, available_at=now + DAY)

    assert balances(member) == (-20, 50)
    assert remaining(pending) == 50


def test_claw_back_without_allow_negative_is_insufficient_and_writes_nothing(member, now):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InsufficientPoints):
        points_debit(member=member, points=101, now=now, kind=Kind.CLAWBACK)

    assert books() == before


@pytest.mark.parametrize("kind", [Kind.REDEEM, Kind.ADJUST])
def test_only_a_claw_back_may_overdraw(member, now, kind):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InvalidRequest) as refused:
        points_debit(member=member, points=150, now=now, kind=kind, allow_negative=True)

    assert (refused.value.code, refused.value.param) == ("invalid_kind", "kind")
    assert books() == before


def test_redeem_with_allow_negative_is_refused_even_when_covered(member, now):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InvalidRequest) as refused:
        points_debit(member=member, points=10, now=now, allow_negative=True)

    assert refused.value.code == "invalid_kind"
    assert books() == before


def test_redeem_refused_while_the_balance_is_negative_writes_nothing(member, now):
    points_credit(member=member, points=10, now=now)
    points_debit(member=member, points=30, now=now, kind=Kind.CLAWBACK, allow_negative=True)
    before = books()

    with pytest.raises(InsufficientPoints) as refused:
        points_debit(member=member, points=1, now=now)

    assert refused.value.details == {"available": -20, "requested": 1}
    assert books() == before


# --- bad input to every service --------------------------------------------------------------------

# (points, the code): out of 1..10**9 is the API's `points_out_of_range`; not a whole number, `invalid_points`
BAD_POINTS = [
    (0, "points_out_of_range"),
    (-5, "points_out_of_range"),
    (10**9 + 1, "points_out_of_range"),
    (1.5, "invalid_points"),
    ("10", "invalid_points"),
    (True, "invalid_points"),
    (None, "invalid_points"),
]


@pytest.mark.parametrize(("points", "code"), BAD_POINTS, ids=repr)
def test_credit_refuses_bad_points_and_writes_nothing(member, now, points, code):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InvalidRequest) as refused:
        points_credit(member=member, points=points, now=now)

    assert (refused.value.code, refused.value.param, refused.value.status) == (code, "points", 400)
    assert books() == before


@pytest.mark.parametrize(("points", "code"), BAD_POINTS, ids=repr)
def test_debit_refuses_bad_points_and_writes_nothing(member, now, points, code):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InvalidRequest) as refused:
        points_debit(member=member, points=points, now=now)

    assert (refused.value.code, refused.value.param, refused.value.status) == (code, "points", 400)
    assert books() == before


def test_the_bounds_themselves_are_accepted(member, now):
    points_credit(member=member, points=10**9, now=now)
    points_credit(member=member, points=1, now=now)
    points_debit(member=member, points=10**9, now=now)
    points_debit(member=member, points=1, now=now)

    assert balances(member) == (0, 0)


def unsaved_member() -> Member:
    return Member(email="nobody@example.com")


def member_without_a_row() -> Member:
    return Member(pk=987_654_321, email="ghost@example.com")


@pytest.mark.parametrize("stranger", [unsaved_member, member_without_a_row, lambda: None])
@pytest.mark.parametrize(
    "service",
    [
        lambda m, now: points_credit(member=m, points=10, now=now),
        lambda m, now: points_debit(member=m, points=10, now=now),
        lambda m, now: points_debit(member=m, points=10, now=now, kind=Kind.CLAWBACK, allow_negative=True),
        lambda m, now: points_expire(member=m, now=now),
    ],
    ids=["credit", "debit", "claw_back", "expire"],
)
def test_services_refuse_an_unknown_member_and_write_nothing(member, now, service, stranger):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(MemberNotFound) as refused:
        service(stranger(), now)

    assert (refused.value.code, refused.value.param, refused.value.status) == ("member_not_found", "member", 404)
    assert books() == before


@pytest.mark.parametrize(
    ("available_at", "expires_at"),
    [
        (None, -DAY),  # expires before now
        (None, 0 * DAY),  # expires the moment it becomes available
        (10 * DAY, 5 * DAY),  # pending lot that would expire before it becomes available
        (10 * DAY, 10 * DAY),
    ],
)
def test_credit_refuses_expiry_not_after_availability_and_writes_nothing(member, now, available_at, expires_at):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InvalidRequest) as refused:
        points_credit(
            member=member,
            points=10,
            now=now,
            available_at=None if available_at is None else now + available_at,
            expires_at=now + expires_at,
        )

    assert (refused.value.code, refused.value.param) == ("invalid_expires_at", "expires_at")
    assert books() == before


@pytest.mark.parametrize("kind", [Kind.REDEEM, Kind.CLAWBACK, Kind.EXPIRE, Kind.REVERSAL, Kind.HOLD, "gift"])
def test_credit_refuses_a_kind_that_is_not_a_credit_and_writes_nothing(member, now, kind):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InvalidRequest) as refused:
        points_credit(member=member, points=10, now=now, kind=kind)

    assert (refused.value.code, refused.value.param) == ("invalid_kind", "kind")
    assert books() == before


@pytest.mark.parametrize("kind", [Kind.EARN, Kind.BONUS, Kind.EXPIRE, Kind.REVERSAL, Kind.CAPTURE, "gift"])
def test_debit_refuses_a_kind_that_is_not_a_debit_and_writes_nothing(member, now, kind):
    points_credit(member=member, points=100, now=now)
    before = books()

    with pytest.raises(InvalidRequest) as refused:
        points_debit(member=member, points=10, now=now, kind=kind)

    assert (refused.value.code, refused.value.param) == ("invalid_kind", "kind")
    assert books() == before


def test_cancelling_an_entry_whose_row_was_never_written_is_entry_not_found(member, now):
    points_credit(member=member, points=100, now=now)
    account = Account.objects.get(member=member)
    before = books()

    with pytest.raises(EntryNotFound) as refused:
        debit_cancel(entry=LedgerEntry(pk=987_654_321, account=account, kind=Kind.REDEEM, points=-5), now=now)

    assert (refused.value.code, refused.value.param) == ("entry_not_found", "entry")
    assert books() == before


def test_draw_plan_of_an_unknown_account_is_empty(db):
    assert lots_draw_plan(account_id=987_654_321, points=10) == []


def test_cancel_reverses_on_the_account_the_entry_belongs_to_not_a_stale_one(member, now):
    # The service re-reads the entry under the lock; the account it locks and credits must be the one
    # stored with the entry, not whatever account_id the caller's instance carries.
    other = MemberFactory()
    points_credit(member=member, points=100, now=now)
    points_credit(member=other, points=100, now=now)
    redemption = points_debit(member=member, points=30, now=now)
    stale = LedgerEntry(pk=redemption.pk, account=Account.objects.get(member=other), kind=Kind.REDEEM, points=-30)

    reversal = debit_cancel(entry=stale, now=now)

    assert (balances(member), balances(other)) == ((100, 0), (100, 0))
    assert LedgerEntry.objects.get(pk=reversal.pk).account.member_id == member.pk
    assert ledger_verify() == []
