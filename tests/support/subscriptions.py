"""Paid loyalty subscriptions: the plans of the program file, and helpers that drive the services with
explicit times (the API uses the clock)."""

import datetime as dt
import hashlib
import json
from decimal import Decimal

from loyalty.ledger.models import Account, LedgerEntry
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionEvent, SubscriptionPayment
from loyalty.subscriptions.services import RECORD_CAUSES, payment_record, subscription_cancel, subscription_create
from tests.support.api import PROGRAM

DAY = dt.timedelta(days=1)
GRACE = dt.timedelta(days=PROGRAM["subscription_grace_days"])
PLANS = "/api/v1/plans"
SUBSCRIPTIONS = "/api/v1/subscriptions"

PLAN_ITEMS = [
    {"code": "plus", "name": "Plus", "price": "4.99", "interval": "month", "trial_days": 0, "multiplier": "2",
     "renewal_bonus": 100, "perks": ["free_express_shipping"]},
    {"code": "trial", "name": "Trial", "price": "9.99", "interval": "month", "trial_days": 14,
     "multiplier": "1.5", "renewal_bonus": 50, "perks": ["lounge"]},
    {"code": "annual", "name": "Annual", "price": "49.00", "interval": "year", "trial_days": 0, "multiplier": "3",
     "renewal_bonus": 1000, "perks": ["gift"]},
]  # fmt: skip


def request_hash(payload: object) -> str:
    """A request's fingerprint, as the API computes one: an opaque string the service compares."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def subscribe(shop, member, plan: Plan, now: dt.datetime) -> Subscription:
    return subscription_create(shop=shop, member=member, plan=plan, now=now)


def pay(
    shop, subscription: Subscription, external_id: str, now: dt.datetime, *, status: str = "succeeded",
    amount: Decimal | None = None, currency: str | None = None,
) -> tuple[SubscriptionPayment, bool]:  # fmt: skip
    """Report a payment through the service, with the plan's price unless told otherwise."""
    plan = Plan.objects.get(pk=subscription.plan_id)
    amount = plan.price if amount is None else amount
    currency = plan.currency if currency is None else currency
    fingerprint = request_hash(
        {"subscription": subscription.pk, "external_id": external_id, "amount": amount, "currency": currency,
         "status": status}
    )  # fmt: skip
    return payment_record(
        shop=shop, subscription=subscription, external_id=external_id, amount=amount, currency=currency,
        status=status, fingerprint=fingerprint, now=now,
    )  # fmt: skip


def cancel(subscription: Subscription, now: dt.datetime, *, at_period_end: bool) -> Subscription:
    return subscription_cancel(subscription=subscription, at_period_end=at_period_end, now=now)


def fresh(subscription: Subscription) -> Subscription:
    return Subscription.objects.select_related("plan").get(pk=subscription.pk)


def moves(subscription: Subscription) -> list[tuple[str, str, str]]:
    """(from, to, cause) of every recorded move of the status, oldest first (events that only record an
    action, `RECORD_CAUSES`, left out)."""
    return list(
        SubscriptionEvent.objects.filter(subscription=subscription)
        .exclude(cause__in=RECORD_CAUSES)
        .order_by("id")
        .values_list("from_status", "to_status", "cause")
    )


def bonus_entries(member) -> list[int]:
    return list(
        LedgerEntry.objects.filter(account__member=member, kind=LedgerEntry.Kind.BONUS)
        .order_by("id")
        .values_list("points", flat=True)
    )


def snapshot() -> tuple:
    """Everything a subscription write may touch, to show that a refusal wrote nothing."""
    return (
        list(Subscription.objects.order_by("id").values()),
        list(SubscriptionEvent.objects.order_by("id").values()),
        list(SubscriptionPayment.objects.order_by("id").values()),
        list(LedgerEntry.objects.order_by("id").values_list("id", "points")),
        list(Account.objects.order_by("id").values("id", "available", "plan_id", "plan_benefits_until")),
    )
