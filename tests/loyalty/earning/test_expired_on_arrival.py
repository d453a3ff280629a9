"""A backdated purchase whose points are already past their expiry (or would expire before they become
available): they are credited and expired in the same request, an earn entry and an expire entry, so
they are never spendable, the expiry job has nothing left of them, and a later refund takes nothing back.

The program here expires points one month (rolling) after the purchase and accepts purchases reported up
to 60 days late, so a purchase reported 40 days late arrives about ten days past its expiry.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.earning.models import Transaction
from loyalty.earning.services import refund_create, transaction_create
from loyalty.ledger.jobs import expire_points
from loyalty.ledger.models import Account, LedgerEntry, PointLot
from loyalty.ledger.services import points_debit
from loyalty.ledger.verify import ledger_verify
from tests.support.api import balance, purchase

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def short_expiry(program_set):
    program_set(expiry={"policy": "rolling", "months": 1}, max_backdate_days=60)


def entries(member) -> list[tuple[str, int, int, int]]:
    """(kind, points, pending_points, balance_after) of the member's entries, oldest first."""
    return list(
        LedgerEntry.objects.filter(account__member=member)
        .order_by("id")
        .values_list("kind", "points", "pending_points", "balance_after")
    )


def test_points_past_their_expiry_are_credited_and_expired_in_the_same_request(api, member, short_expiry):
    occurred_at = timezone.now().replace(microsecond=0) - 40 * DAY

    r = api.post("/api/v1/transactions", purchase(member, total="25.00", occurred_at=iso(occurred_at)))

    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["points"], body["points_status"], body["balance"]) == (
        25, "expired", {"available": 0, "pending": 0, "held": 0},
    )  # fmt: skip
    assert entries(member) == [("earn", 25, 0, 25), ("expire", -25, 0, 0)]
    history = api.get(f"/api/v1/members/{member.public_id}/entries").json()["results"]
    assert [(e["kind"], e["points"], e["transaction"]) for e in history] == [
        ("expire", -25, body["id"]), ("earn", 25, body["id"]),
    ]  # fmt: skip
    lot = PointLot.objects.get(account__member=member)
    assert (lot.amount, lot.remaining, lot.expires_at) == (25, 0, occurred_at + dt.timedelta(days=31))
    assert ledger_verify() == []


def test_points_expired_on_arrival_are_never_spendable_and_the_expiry_job_finds_nothing(
    api, member, short_expiry
):  # fmt: skip
    occurred_at = timezone.now() - 40 * DAY
    assert api.post("/api/v1/transactions", purchase(member, occurred_at=iso(occurred_at))).status_code == 201

    hold = api.post("/api/v1/holds", {"member": member.public_id, "points": 1, "external_id": "h-1"})

    assert hold.status_code == 422 and hold.json()["error"]["code"] == "insufficient_points"
    assert expire_points(now=timezone.now()).counts == {}
    assert expire_points(now=timezone.now() + 400 * DAY).counts == {}
    assert balance(member) == (0, 0, 0)
    assert ledger_verify() == []


def test_points_that_would_expire_before_they_become_available_expire_at_once(api, member, program_set):
    # Pending for 40 days, but the month of validity counted from the purchase ends before that.
    program_set(expiry={"policy": "rolling", "months": 1}, max_backdate_days=60, pending_days=40)
    occurred_at = timezone.now() - 25 * DAY

    r = api.post("/api/v1/transactions", purchase(member, total="10.00", occurred_at=iso(occurred_at)))

    assert r.status_code == 201, r.content
    assert (r.json()["points_status"], r.json()["balance"]) == ("expired", {"available": 0, "pending": 0, "held": 0})
    assert entries(member) == [("earn", 10, 0, 10), ("expire", -10, 0, 0)]
    assert ledger_verify() == []


def test_a_refund_of_a_purchase_expired_on_arrival_takes_nothing_back(api, member_with_points, short_expiry):
    member = member_with_points(100)  # points of their own, which the refund must not take
    occurred_at = timezone.now() - 40 * DAY
    txn = api.post("/api/v1/transactions", purchase(member, total="25.00", occurred_at=iso(occurred_at))).json()

    half = api.post(f"/api/v1/transactions/{txn['id']}/refunds", {"external_id": "r-1", "amount": "12.50"})
    rest = api.post(f"/api/v1/transactions/{txn['id']}/refunds", {"external_id": "r-2", "amount": "12.50"})

    assert (half.status_code, rest.status_code) == (201, 201), rest.content
    for refund in (half.json(), rest.json()):
        assert (refund["points_clawed_back"], refund["balance"]["available"]) == (0, 100)
    stored = Transaction.objects.get(public_id=txn["id"])
    assert (stored.refunded_amount, stored.points_clawed_back, stored.points_forgiven) == (Decimal("25.00"), 0, 0)
    assert stored.qualifying_points == 0  # a refunded purchase stops counting towards tiers all the same
    assert balance(member) == (100, 0, 0)
    assert ledger_verify() == []


def test_a_negative_balance_is_settled_first_and_only_the_rest_expires(shop, member, short_expiry):
    now = timezone.now()
    points_debit(member=member, points=10, now=now - DAY, kind=LedgerEntry.Kind.CLAWBACK, allow_negative=True)

    purchase = transaction_create(
        shop=shop, member=member, external_id="late-1", currency="EUR", total=Decimal("25.00"),
        occurred_at=now - 40 * DAY, lines=None, fingerprint="late-1", now=now,
    )  # fmt: skip
    txn = purchase.transaction

    assert purchase.created and txn.points_status == "expired"
    assert entries(member)[1:] == [("earn", 25, 0, 15), ("expire", -15, 0, 0)]
    assert Account.objects.get(member=member).available == 0
    assert ledger_verify() == []
    # A full refund takes back only what reached the balance (the 10 that paid the debt).
    refund = refund_create(
        shop=shop, txn=txn, external_id="r-1", amount=Decimal("25.00"), fingerprint="r-1", now=now + DAY
    ).refund
    assert (refund.points_clawed_back, refund.points_forgiven) == (10, 0)
    assert Account.objects.get(member=member).available == -10
    assert ledger_verify() == []
