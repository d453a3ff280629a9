"""A member with data in every table that can hold some: what the export hands over and erasure must scrub."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from backoffice.models import AuditLogEntry
from loyalty.adjustments.services import points_adjust
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.subscriptions.models import Subscription
from loyalty.subscriptions.services import subscription_extend
from members.models import Member, SignInRequest
from members.portal.signin import signin_link_send
from tests.support.api import Api, line, purchase
from tests.support.portal import mails_delivered
from tests.support.rewards import redeemed, reward_item
from tests.support.subscriptions import pay, subscribe

PERSON = {
    "email": "zenobia.quillfeather@example.org",
    "first_name": "Zenobia",
    "last_name": "Quillfeather",
    "phone": "+49 151 98765432",
    "birth_date": "1985-07-14",
}
PHONE_STORED = "+4915198765432"


@dataclass
class Everywhere:
    member: Member
    subscription: Subscription
    voucher_code: str
    transaction_ids: list[str]


def member_everywhere(api: Api, plan) -> Everywhere:
    """Zenobia, enrolled through the API with an Idempotency-Key (the stored answer names her), with purchases
    with lines, a partial refund, an open hold, a redemption and its voucher, a paid subscription extended by
    staff with a note naming her, adjustments with notes naming her, a referral bonus, a mail sent and one
    queued, a sign-in link, and admin log (audit) entries about her and her records."""
    now = timezone.now()
    r = api.post("/api/v1/members", {**PERSON, "marketing_consent": True}, idempotency_key="enroll-1")
    assert r.status_code == 201, r.content
    member = Member.objects.get(public_id=r.json()["id"])
    program_load({"rewards": [reward_item("COFFEE", points_cost=100)]})

    transaction_ids = []
    for n, total in enumerate(("42.50", "19.99"), start=1):
        body = purchase(member, external_id=f"order-{n}", total=total,
                        lines=[line(total, sku=f"sku-{n}", category="general")])  # fmt: skip
        r = api.post("/api/v1/transactions", body, idempotency_key=f"buy-{n}")
        assert r.status_code == 201, r.content
        transaction_ids.append(r.json()["id"])
    r = api.post(f"/api/v1/transactions/{transaction_ids[1]}/refunds", {"external_id": "refund-1", "amount": "9.99"})
    assert r.status_code == 201, r.content
    points_credit(member=member, points=500, now=now, kind=LedgerEntry.Kind.BONUS, reference="referral:mem_friend")
    r = api.post("/api/v1/holds", {"member": member.public_id, "points": 20, "external_id": "pay-at-till"})
    assert r.status_code == 201, r.content
    voucher_code = redeemed(api, member, "COFFEE")["voucher_code"]
    subscription = subscribe(api.shop, member, plan, now - dt.timedelta(days=2))
    pay(api.shop, subscription, "sub-pay-1", now - dt.timedelta(days=2))
    subscription_extend(subscription=subscription, days=3, actor="staff:agent",
                        note="Zenobia Quillfeather waited for a parcel", now=now)  # fmt: skip
    note = f"Zenobia called from {PHONE_STORED}, mail {PERSON['email']}"
    adjustment = points_adjust(member=member, points=25, reason="goodwill", note=note, actor="staff:agent", now=now)
    adjustment = adjustment.adjustment

    signin_link_send(member=member, now=now)
    mails_delivered()
    signin_link_send(member=member, now=now)  # still queued at erasure
    SignInRequest.objects.create(email=member.email, created_at=now)  # a link asked for, not yet handled

    staff = User.objects.create_user("agent")
    for record, message in (
        (member, f"Changed phone for {member.first_name} {member.last_name}"),
        (subscription, "Extended by 3 days: Zenobia Quillfeather waited for a parcel"),
        (adjustment, f"Posted adjustment {adjustment.public_id} (+25) for Zenobia"),
    ):
        LogEntry.objects.create(
            user=staff, content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk),
            object_repr=str(record)[:200], action_flag=CHANGE, change_message=message,
        )  # fmt: skip
    assert AuditLogEntry.objects.count() == 3
    member.refresh_from_db()
    return Everywhere(member=member, subscription=subscription, voucher_code=voucher_code,
                      transaction_ids=transaction_ids)  # fmt: skip
