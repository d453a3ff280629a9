"""Manual adjustments: credits as lots, debits from lots, never below zero, four-eyes above the limit."""

import datetime as dt

import pytest

from loyalty.adjustments.errors import AdjustmentNotPending, InvalidNote, InvalidReason, SelfApproval
from loyalty.adjustments.models import Adjustment
from loyalty.adjustments.services import adjustment_approve, adjustment_reject, points_adjust
from loyalty.idempotency.errors import IdempotencyConflict
from loyalty.ledger.errors import InsufficientPoints, InvalidPoints, PointsOutOfRange
from loyalty.ledger.models import LedgerEntry, PointLot
from members.errors import MemberInactive
from members.services import member_set_status
from privacy.services import member_erase
from tests.support.api import balance
from tests.support.state import db_state

Kind = LedgerEntry.Kind
Status = Adjustment.Status


def adjust(member, points, now, actor="staff:alice", **fields):
    return points_adjust(
        member=member, points=points, reason=fields.pop("reason", "goodwill"), note=fields.pop("note", "late parcel"),
        actor=actor, now=now, **fields,
    )  # fmt: skip


def test_a_credit_is_posted_as_an_adjust_entry_and_a_lot_that_expires_under_the_program(member, now):
    result = adjust(member, 250, now)

    adjustment = Adjustment.objects.get()
    entry = adjustment.entry
    assert (adjustment.status, adjustment.points, adjustment.requested_by) == (Status.POSTED, 250, "staff:alice")
    assert (entry.kind, entry.points, entry.balance_after, entry.actor) == (Kind.ADJUST, 250, 250, "staff:alice")
    assert entry.reference == f"adjustment:{adjustment.public_id}"
    assert entry.description == "goodwill adjustment"  # the note stays on the adjustment, which erasure can scrub
    lot = PointLot.objects.get(entry=entry)
    assert (lot.amount, lot.remaining, lot.expires_at) == (250, 250, dt.datetime(2028, 3, 15, 12, tzinfo=dt.UTC))
    assert balance(member) == (250, 0, 0)
    assert (result.created, result.account.available) == (True, 250)


def test_a_debit_takes_points_from_the_lots(member_with_points, now):
    member = member_with_points(1000)

    adjust(member, -300, now, reason="correction", note="double credit")

    entry = LedgerEntry.objects.get(kind=Kind.ADJUST)
    assert (entry.points, entry.balance_after) == (-300, 700)
    assert PointLot.objects.get().remaining == 700
    assert balance(member) == (700, 0, 0)


def test_a_debit_below_zero_is_refused_and_writes_nothing(member_with_points, now):
    member = member_with_points(100)
    before = db_state()

    with pytest.raises(InsufficientPoints) as refused:
        adjust(member, -101, now)

    assert refused.value.code == "insufficient_points"
    assert refused.value.message == "The member has 100 points available; 101 were requested."
    assert db_state() == before
    assert not Adjustment.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"points": 0}, InvalidPoints),
        ({"points": True}, InvalidPoints),
        ({"points": 1_000_000_001}, PointsOutOfRange),
        ({"points": -1_000_000_001}, PointsOutOfRange),
        ({"reason": "bored"}, InvalidReason),
        ({"note": "   "}, InvalidNote),
        ({"note": "x" * 501}, InvalidNote),
    ],
)
def test_invalid_adjustments_are_refused(member, now, fields, error):
    with pytest.raises(error):
        adjust(member, fields.pop("points", 10), now, **fields)

    assert not Adjustment.objects.exists()


def test_above_the_limit_it_waits_for_approval_and_writes_no_entry(member, now):
    result = adjust(member, 5001, now)

    assert result.adjustment.status == Status.PENDING_APPROVAL
    assert result.adjustment.entry is None
    assert not LedgerEntry.objects.exists()
    assert balance(member) == (0, 0, 0)


def test_at_the_limit_it_is_posted_at_once(member, now):
    assert adjust(member, 5000, now).adjustment.status == Status.POSTED


def test_without_a_limit_nothing_waits(member, now, program_set):
    program_set(adjustment_approval_points=None)

    assert adjust(member, 1_000_000, now).adjustment.status == Status.POSTED


def test_the_requester_cannot_approve_their_own(member, now):
    pending = adjust(member, 6000, now).adjustment

    with pytest.raises(SelfApproval):
        adjustment_approve(adjustment=pending, approver="staff:alice", now=now)

    assert Adjustment.objects.get().status == Status.PENDING_APPROVAL
    assert not LedgerEntry.objects.exists()


def test_a_second_person_approves_and_it_posts_once(member, now):
    pending = adjust(member, 6000, now).adjustment
    later = now + dt.timedelta(hours=1)

    result = adjustment_approve(adjustment=pending, approver="staff:bob", now=later)

    stored = Adjustment.objects.get()
    assert (stored.status, stored.decided_by, stored.decided_at) == (Status.POSTED, "staff:bob", later)
    entry = LedgerEntry.objects.get()
    assert (stored.entry_id, entry.kind, entry.points, entry.actor) == (entry.pk, Kind.ADJUST, 6000, "staff:bob")
    assert result.account.available == 6000
    with pytest.raises(AdjustmentNotPending):
        adjustment_approve(adjustment=pending, approver="staff:carol", now=later)
    assert LedgerEntry.objects.count() == 1


def test_approval_checks_the_balance_again(member_with_points, now):
    member = member_with_points(8000)
    pending = adjust(member, -6000, now).adjustment
    adjust(member, -3000, now)  # the balance drops to 5000 meanwhile

    with pytest.raises(InsufficientPoints):
        adjustment_approve(adjustment=pending, approver="staff:bob", now=now)

    assert Adjustment.objects.get(pk=pending.pk).status == Status.PENDING_APPROVAL
    assert balance(member) == (5000, 0, 0)


def test_a_debit_larger_than_the_balance_is_refused_at_once_even_above_the_limit(member_with_points, now):
    member = member_with_points(839)
    before = db_state()

    with pytest.raises(InsufficientPoints):
        adjust(member, -999_999, now)

    assert db_state() == before  # nothing waits for a second person who could only refuse it


def test_a_closed_members_points_no_longer_change(member_with_points, now):
    member = member_with_points(500)
    pending = adjust(member, 6000, now).adjustment
    member_erase(member=member, actor="staff:root", now=now)
    before = db_state()

    with pytest.raises(MemberInactive):
        adjust(member, 20, now)
    with pytest.raises(MemberInactive):
        adjustment_approve(adjustment=pending, approver="staff:bob", now=now)

    assert db_state() == before


def test_a_suspended_members_points_can_still_be_corrected(member_with_points, now):
    member = member_with_points(500)
    member_set_status(member=member, status="suspended")

    assert adjust(member, -100, now, reason="fraud").adjustment.status == Status.POSTED
    assert balance(member) == (400, 0, 0)


def test_a_rejected_adjustment_writes_nothing_and_cannot_be_approved(member, now):
    pending = adjust(member, 6000, now).adjustment

    adjustment_reject(adjustment=pending, rejecter="staff:bob", now=now)

    assert Adjustment.objects.get().status == Status.REJECTED
    with pytest.raises(AdjustmentNotPending):
        adjustment_approve(adjustment=pending, approver="staff:carol", now=now)
    assert not LedgerEntry.objects.exists()


def test_the_same_external_id_replays_and_a_different_request_conflicts(member, shop, now):
    first = adjust(member, 10, now, actor="shop:shop-a", shop=shop, external_id="a-1", fingerprint="h1")
    again = adjust(member, 10, now, actor="shop:shop-a", shop=shop, external_id="a-1", fingerprint="h1")

    assert (first.created, again.created, again.adjustment.pk) == (True, False, first.adjustment.pk)
    with pytest.raises(IdempotencyConflict):
        adjust(member, 11, now, actor="shop:shop-a", shop=shop, external_id="a-1", fingerprint="h2")
    assert LedgerEntry.objects.count() == 1
    assert balance(member) == (10, 0, 0)
