"""Four-eyes approval under races: two people approving one pending adjustment at once post it once.

Real threads on their own PostgreSQL connections (the `parallel` fixture); every test commits for real and
the suite-wide ledger_verify() runs after it.
"""

from functools import partial

import pytest
from django.utils import timezone

from loyalty.adjustments.errors import AdjustmentNotPending
from loyalty.adjustments.models import Adjustment
from loyalty.adjustments.services import adjustment_approve, adjustment_reject, points_adjust
from loyalty.ledger.models import LedgerEntry
from loyalty.program.loading import program_load
from tests.factories import MemberFactory
from tests.support.api import PROGRAM, balance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pending():
    program_load({"program": {**PROGRAM, "adjustment_approval_points": 5000}})
    member = MemberFactory()
    return points_adjust(
        member=member, points=6000, reason="migration", note="old system", actor="staff:alice", now=timezone.now()
    ).adjustment


def test_ten_simultaneous_approvals_post_the_adjustment_exactly_once(parallel, pending):
    approvals = [partial(adjustment_approve, adjustment=pending, approver=f"staff:approver{i}", now=timezone.now())
                 for i in range(10)]  # fmt: skip

    outcomes = parallel(approvals)

    assert sum(outcome.ok for outcome in outcomes) == 1
    assert all(type(outcome.error) is AdjustmentNotPending for outcome in outcomes if not outcome.ok)
    stored = Adjustment.objects.get(pk=pending.pk)
    assert stored.status == Adjustment.Status.POSTED
    assert LedgerEntry.objects.filter(account__member_id=pending.member_id, kind="adjust").count() == 1
    assert balance(pending.member) == (6000, 0, 0)


def test_an_approval_racing_a_rejection_leaves_one_outcome(parallel, pending):
    outcomes = parallel([
        partial(adjustment_approve, adjustment=pending, approver="staff:bob", now=timezone.now()),
        partial(adjustment_reject, adjustment=pending, rejecter="staff:carol", now=timezone.now()),
    ])  # fmt: skip

    assert sum(outcome.ok for outcome in outcomes) == 1
    stored = Adjustment.objects.get(pk=pending.pk)
    entries = LedgerEntry.objects.filter(account__member_id=pending.member_id).count()
    expected = (6000, 1) if stored.status == Adjustment.Status.POSTED else (0, 0)
    assert (balance(pending.member)[0], entries) == expected
