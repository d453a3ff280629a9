"""A member's own data, whole (GDPR Art. 15 and 20): what the portal's "download my data" hands over.

One query per kind of record, however long the member's history: the export of a member with ten years of
purchases costs what a new member's does (a bounded number of queries, not one per row)."""

import datetime as dt
from typing import Any

from django.db.models import Prefetch

from loyalty.adjustments.models import Adjustment
from loyalty.earning.models import Refund, Transaction
from loyalty.holds.models import Hold
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.messages.models import Message
from loyalty.messages.services import SECRET_MARK
from loyalty.subscriptions.models import Subscription, SubscriptionEvent, SubscriptionPayment
from loyalty.tiers.models import TierChange
from members.models import Member
from rewards.models import Redemption

EXPORT_FORMAT = 1  # bumped when a field changes meaning, so a reader of an old file can tell

PROFILE_FIELDS = (
    "public_id", "card_number", "email", "first_name", "last_name", "phone", "birth_date", "locale", "status",
    "referral_code", "enrolled_at", "updated_at",
)  # fmt: skip
ENTRY_FIELDS = (
    "public_id", "created_at", "kind", "points", "pending_points", "held_points", "balance_after", "description",
    "reference",
)  # fmt: skip
TRANSACTION_FIELDS = (
    "public_id", "external_id", "occurred_at", "currency", "total", "eligible_amount", "lines", "points",
    "points_status", "available_at", "refunded_amount", "points_clawed_back", "points_forgiven", "created_at",
)  # fmt: skip
REFUND_FIELDS = ("public_id", "external_id", "amount", "points_clawed_back", "points_forgiven", "created_at")
HOLD_FIELDS = ("public_id", "external_id", "points", "captured_points", "status", "expires_at", "created_at",
               "resolved_at")  # fmt: skip
SUBSCRIPTION_FIELDS = (
    "public_id", "status", "current_period_start", "current_period_end", "cancel_at_period_end", "created_at",
    "ended_at",
)  # fmt: skip
EVENT_FIELDS = ("created_at", "from_status", "to_status", "cause")
PAYMENT_FIELDS = ("public_id", "external_id", "amount", "currency", "status", "period_start", "period_end",
                  "created_at")  # fmt: skip
LINK_LEFT_OUT = "(sign-in link, left out)"  # where a mail's text had its secret: the link is never exported
MESSAGE_FIELDS = ("kind", "to_email", "language", "subject", "body_text", "status", "created_at", "sent_at")


def _pick(row: object, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


def member_export(*, member: Member, now: dt.datetime) -> dict[str, Any]:
    """Everything stored about `member`, as plain data (datetimes, dates and Decimals for the encoder to write):
    profile, consents with their dates, the account, every ledger entry, purchases with their refunds, holds,
    redemptions with their vouchers, adjustments, tier changes, subscriptions with their events and payments,
    and the mails sent to them (never a sign-in link's secret)."""
    account = Account.objects.select_related("tier", "plan").filter(member=member).first()
    entries = (
        LedgerEntry.objects.filter(account__member=member).select_related("shop").order_by("id")
        if account
        else LedgerEntry.objects.none()
    )
    transactions = (
        Transaction.objects.filter(member=member)
        .select_related("shop")
        .prefetch_related(Prefetch("refunds", queryset=Refund.objects.select_related("shop").order_by("id")))
        .order_by("id")
    )
    holds = Hold.objects.filter(member=member).select_related("shop").order_by("id")
    redemptions = (
        Redemption.objects.filter(member=member).select_related("reward", "shop", "voucher__used_by").order_by("id")
    )
    subscriptions = (
        Subscription.objects.filter(member=member)
        .select_related("plan", "shop")
        .prefetch_related(
            Prefetch("events", queryset=SubscriptionEvent.objects.order_by("id")),
            Prefetch("payments", queryset=SubscriptionPayment.objects.order_by("id")),
        )
        .order_by("id")
    )
    tier_changes = (
        TierChange.objects.filter(account__member=member).select_related("from_tier", "to_tier").order_by("id")
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now,
        "profile": _pick(member, PROFILE_FIELDS),
        "consents": {
            "marketing": {
                "given": member.marketing_consent,
                "given_at": member.marketing_consent_given_at,
                "withdrawn_at": member.marketing_consent_withdrawn_at,
            }
        },
        "joined_through_a_referral": member.referred_by_id is not None,
        "account": _account(account),
        "ledger_entries": [
            {**_pick(entry, ENTRY_FIELDS), "shop": entry.shop.name if entry.shop else None} for entry in entries
        ],
        "transactions": [
            {
                **_pick(txn, TRANSACTION_FIELDS),
                "shop": txn.shop.name,
                "refunds": [{**_pick(refund, REFUND_FIELDS), "shop": refund.shop.name} for refund in txn.refunds.all()],
            }
            for txn in transactions
        ],
        "holds": [{**_pick(hold, HOLD_FIELDS), "shop": hold.shop.name} for hold in holds],
        "redemptions": [_redemption(redemption) for redemption in redemptions],
        "adjustments": [
            {
                "public_id": a.public_id,
                "points": a.points,
                "reason": a.reason,
                "note": a.note,
                "status": a.status,
                "created_at": a.created_at,
                "decided_at": a.decided_at,
            }
            for a in Adjustment.objects.filter(member=member).order_by("id")
        ],
        "tier_changes": [
            {
                "from": change.from_tier.name if change.from_tier else None,
                "to": change.to_tier.name if change.to_tier else None,
                "reason": change.reason,
                "qualifying_points": change.qualifying_points,
                "valid_until": change.valid_until,
                "created_at": change.created_at,
            }
            for change in tier_changes
        ],
        "subscriptions": [
            {
                **_pick(subscription, SUBSCRIPTION_FIELDS),
                "plan": {
                    "code": subscription.plan.code,
                    "name": subscription.plan.name,
                    "price": subscription.plan.price,
                    "currency": subscription.plan.currency,
                    "interval": subscription.plan.interval,
                },
                "shop": subscription.shop.name,
                "events": [_pick(event, EVENT_FIELDS) for event in subscription.events.all()],
                "payments": [_pick(payment, PAYMENT_FIELDS) for payment in subscription.payments.all()],
            }
            for subscription in subscriptions
        ],
        "messages": [
            {**_pick(message, MESSAGE_FIELDS), "body_text": message.body_text.replace(SECRET_MARK, LINK_LEFT_OUT)}
            for message in Message.objects.filter(member=member).defer("secret", "headers").order_by("id")
        ],
    }


def _account(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return {
        "available": account.available, "pending": account.pending, "held": account.held,
        "tier": account.tier.name if account.tier else None, "tier_valid_until": account.tier_valid_until,
        "plan": account.plan.name if account.plan else None, "plan_benefits_until": account.plan_benefits_until,
        "last_purchase_at": account.last_purchase_at,
    }  # fmt: skip


def _redemption(redemption: Redemption) -> dict[str, Any]:
    voucher = getattr(redemption, "voucher", None)
    return {
        "public_id": redemption.public_id, "reward": redemption.reward.name, "points": redemption.points,
        "status": redemption.status, "shop": redemption.shop.name if redemption.shop else None,
        "created_at": redemption.created_at, "cancelled_at": redemption.cancelled_at,
        "voucher": None if voucher is None else {
            "code": voucher.code, "value": voucher.value, "status": voucher.status, "expires_at": voucher.expires_at,
            "used_at": voucher.used_at, "used_at_shop": voucher.used_by.name if voucher.used_by else None,
        },
    }  # fmt: skip
