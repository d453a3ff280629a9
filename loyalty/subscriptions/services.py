"""Paid loyalty: subscribing, payments, cancellation, and the benefits they give.

A subscription's status moves only along `TRANSITIONS`; any other move is refused with `invalid_state`
and writes nothing. Every move is recorded as a SubscriptionEvent with its cause. Every write locks the
member's account first (the one lock order), because the account carries the plan and the instant its
benefits end (`plan_benefits_until`), which checkout reads from the row it locks anyway.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction

from loyalty.calendar import months_add
from loyalty.errors import InvalidState, MemberInactive, UnsupportedCurrency
from loyalty.idempotency.services import create_or_replay, replay
from loyalty.ledger.entries import Cause, account_save
from loyalty.ledger.locking import account_lock, member_id_of, member_locked
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.ledger.services import account_credit
from loyalty.program.selectors import program_get
from loyalty.shops.models import Shop
from loyalty.subscriptions.errors import AmountMismatch, InvalidExtension
from loyalty.subscriptions.models import LIVE_STATUSES, Plan, Subscription, SubscriptionEvent, SubscriptionPayment
from members.models import Member
from members.public_ids import public_id_new

S = Subscription.Status
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    # (from, to): the causes that may make that move
    (S.INCOMPLETE, S.ACTIVE): frozenset({"payment_succeeded"}),
    (S.INCOMPLETE, S.CANCELED): frozenset({"canceled"}),
    (S.INCOMPLETE, S.EXPIRED): frozenset({"never_paid"}),
    (S.TRIALING, S.ACTIVE): frozenset({"payment_succeeded"}),
    (S.TRIALING, S.PAST_DUE): frozenset({"payment_failed"}),
    (S.TRIALING, S.CANCELED): frozenset({"canceled", "canceled_at_period_end"}),
    (S.TRIALING, S.EXPIRED): frozenset({"trial_ended_unpaid"}),
    (S.ACTIVE, S.ACTIVE): frozenset({"payment_succeeded"}),
    (S.ACTIVE, S.PAST_DUE): frozenset({"payment_failed", "period_ended_unpaid"}),
    (S.ACTIVE, S.CANCELED): frozenset({"canceled", "canceled_at_period_end"}),
    (S.PAST_DUE, S.ACTIVE): frozenset({"payment_succeeded"}),
    (S.PAST_DUE, S.PAST_DUE): frozenset({"payment_failed"}),
    # A renewal charge may fail after the member asked to stop at period end: it still stops then.
    (S.PAST_DUE, S.CANCELED): frozenset({"canceled", "canceled_at_period_end"}),
    (S.PAST_DUE, S.EXPIRED): frozenset({"grace_ended"}),
}


# Causes of events that move no status but record what staff, a shop or the member did: a cancellation scheduled
# for the period's end (and its undoing), a goodwill extension.
RECORD_CAUSES = frozenset({"cancel_scheduled", "cancel_unscheduled", "extended"})


def transition_allowed(from_status: str, to_status: str, cause: str) -> bool:
    return cause in TRANSITIONS.get((from_status, to_status), frozenset())


def _move(
    subscription: Subscription, to_status: str, *, cause: str, now: dt.datetime, actor: str = "", note: str = ""
) -> SubscriptionEvent:
    """Check the move against TRANSITIONS, apply it in memory and record it. The caller saves."""
    if not transition_allowed(subscription.status, to_status, cause):
        raise InvalidState(f"A {subscription.status} subscription cannot become {to_status}.", param="status")
    event = SubscriptionEvent(
        subscription=subscription, from_status=subscription.status, to_status=to_status, cause=cause, created_at=now,
        actor=actor, note=note,
    )  # fmt: skip
    subscription.status = to_status
    if to_status in (S.CANCELED, S.EXPIRED):
        subscription.ended_at = now
    return event


def period_end(subscription: Subscription, periods: int) -> dt.datetime:
    """The end of the `periods`-th paid period, counted from the anchor (no drift at month ends)."""
    return months_add(subscription.anchor, periods * subscription.plan.months)


def benefits_until(subscription: Subscription, grace_days: int) -> dt.datetime | None:
    """Until when the plan's benefits hold, given the subscription's state: to the end of a trial; to the
    end of a paid period plus grace (a renewal not yet reported keeps them); for past due, grace from
    when it fell due; to the period end when the member asked to stop then, whatever a payment did since;
    none once canceled or expired."""
    grace = dt.timedelta(days=grace_days)
    if subscription.status == S.TRIALING:
        return subscription.current_period_end
    if subscription.status in (S.ACTIVE, S.PAST_DUE) and subscription.cancel_at_period_end:
        return subscription.current_period_end
    if subscription.status == S.ACTIVE:
        return subscription.current_period_end + grace
    if subscription.status == S.PAST_DUE:
        return max(subscription.current_period_end, subscription.past_due_since + grace)
    return None


def _account_benefits(account: Account, subscription: Subscription, grace_days: int, *, save: bool = True) -> None:
    """Point the locked account at the plan whose benefits the subscription now gives, and until when."""
    until = benefits_until(subscription, grace_days)
    account.plan_id, account.plan_benefits_until = (subscription.plan_id, until) if until else (None, None)
    if save:
        account_save(account)


def _save(subscription: Subscription, events: list[SubscriptionEvent]) -> Subscription:
    subscription.save()
    SubscriptionEvent.objects.bulk_create(events)
    return subscription


@transaction.atomic
def subscription_create(*, shop: Shop, member: Member, plan: Plan, now: dt.datetime) -> Subscription:
    """Subscribe: `trialing` for the plan's trial days, else `incomplete` until the first payment.
    Raises InvalidState when the member already has a live subscription, MemberInactive."""
    account = account_lock(member_id=member_id_of(member))
    member = member_locked(member_id=member.pk)  # its status as committed now, not as the caller loaded it
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive(param="member")
    if Subscription.objects.filter(member=member, status__in=LIVE_STATUSES).exists():
        raise InvalidState("The member already has a live subscription.", param="member")
    trial = plan.trial_days > 0
    subscription = Subscription(
        public_id=public_id_new("sub"), member=member, plan=plan, shop=shop, status="",
        current_period_start=now, current_period_end=now + dt.timedelta(days=plan.trial_days), created_at=now,
    )  # fmt: skip
    event = SubscriptionEvent(from_status="", to_status=S.TRIALING if trial else S.INCOMPLETE,
                              cause="trial_started" if trial else "created", created_at=now)  # fmt: skip
    subscription.status = event.to_status
    subscription.save()
    event.subscription = subscription
    event.save()
    _account_benefits(account, subscription, program_get().subscription_grace_days)
    return subscription


def payment_record(
    *, shop: Shop, subscription: Subscription, external_id: str, amount: Decimal, currency: str, status: str,
    fingerprint: str, now: dt.datetime,
) -> tuple[SubscriptionPayment, bool]:  # fmt: skip
    """Apply a payment the billing system reports; `(payment, created)`. Idempotent on (shop, external_id).

    Succeeded: the subscription becomes (or stays) active, its period advances by one interval and the
    plan's renewal bonus is credited, once per period. Failed: past_due; benefits last the program's
    grace. Raises AmountMismatch, UnsupportedCurrency, InvalidState, IdempotencyConflict."""
    return create_or_replay(
        lambda: _payment_record(
            shop=shop, subscription=subscription, external_id=external_id, amount=amount, currency=currency,
            status=status, fingerprint=fingerprint, now=now,
        ),
        replayed=lambda payment: (payment, False),
        model=SubscriptionPayment, shop=shop, external_id=external_id, fingerprint=fingerprint, what="payment",
    )  # fmt: skip


@transaction.atomic
def _payment_record(
    *, shop: Shop, subscription: Subscription, external_id: str, amount: Decimal, currency: str, status: str,
    fingerprint: str, now: dt.datetime,
) -> tuple[SubscriptionPayment, bool]:  # fmt: skip
    account = account_lock(member_id=subscription.member_id)
    existing = SubscriptionPayment.objects.filter(shop=shop, external_id=external_id).first()
    if existing is not None:
        return replay(existing, fingerprint, what="payment"), False
    subscription = Subscription.objects.select_related("plan").get(pk=subscription.pk)
    plan = subscription.plan
    if currency != plan.currency:
        raise UnsupportedCurrency(f"The plan is paid in {plan.currency}.", param="currency")
    if amount != plan.price:
        raise AmountMismatch(f"The plan costs {plan.price} {plan.currency}.", param="amount")
    if subscription.status not in LIVE_STATUSES:
        raise InvalidState(f"The subscription is {subscription.status}.", param="subscription")
    grace_days = program_get().subscription_grace_days
    payment = SubscriptionPayment(
        public_id=public_id_new("pay"), subscription=subscription, shop=shop, external_id=external_id,
        request_hash=fingerprint, amount=amount, currency=currency, status=status, created_at=now,
    )  # fmt: skip
    if status == SubscriptionPayment.Status.FAILED:
        events = []
        if subscription.status != S.INCOMPLETE:  # a first payment that fails leaves it waiting for one
            events.append(_move(subscription, S.PAST_DUE, cause="payment_failed", now=now))
            subscription.past_due_since = subscription.past_due_since or now
        payment.save()
        _save(subscription, events)
        _account_benefits(account, subscription, grace_days)
        return payment, True

    events = [_move(subscription, S.ACTIVE, cause="payment_succeeded", now=now)]
    if subscription.anchor is None or subscription.periods_paid == 0:
        subscription.anchor, subscription.periods_paid = now, 0  # paying ends a trial: billing starts now
    start = (
        subscription.anchor if subscription.periods_paid == 0 else period_end(subscription, subscription.periods_paid)
    )
    subscription.periods_paid += 1
    end = period_end(subscription, subscription.periods_paid)
    subscription.current_period_start, subscription.current_period_end = start, end
    subscription.past_due_since = None
    payment.period_start, payment.period_end = start, end
    # The bonus credit writes the account row anyway: give it the new benefits to write in the same UPDATE.
    _account_benefits(account, subscription, grace_days, save=not plan.renewal_bonus)
    if plan.renewal_bonus:
        payment.bonus_entry = account_credit(
            account, points=plan.renewal_bonus, now=now, kind=LedgerEntry.Kind.BONUS,
            cause=Cause(shop=shop, reference=f"subscription:{subscription.public_id}", actor=f"shop:{shop.code}",
                        description=f"{plan.name} renewal bonus for the period from {start:%Y-%m-%d}"),
        )  # fmt: skip
    payment.save()
    _save(subscription, events)
    return payment, True


def _staying(
    subscription: Subscription, *, cause: str, now: dt.datetime, actor: str, note: str = ""
) -> SubscriptionEvent:
    """An event that changes no status (a cancellation scheduled for period end, a goodwill extension): still
    recorded, with who did it."""
    return SubscriptionEvent(
        subscription=subscription, from_status=subscription.status, to_status=subscription.status, cause=cause,
        actor=actor, note=note, created_at=now,
    )  # fmt: skip


@transaction.atomic
def subscription_cancel(
    *, subscription: Subscription, at_period_end: bool, now: dt.datetime, actor: str = ""
) -> Subscription:
    """Cancel now (benefits end now) or at the end of the paid period (they last until then), recording
    `actor` (`staff:<username>`, `shop:<code>`; empty for the system) on the event.
    Raises InvalidState for a subscription already canceled or expired."""
    account = account_lock(member_id=subscription.member_id)
    subscription = Subscription.objects.select_related("plan").get(pk=subscription.pk)
    if subscription.status not in LIVE_STATUSES:
        raise InvalidState(f"The subscription is already {subscription.status}.", param="subscription")
    events = []
    if at_period_end and subscription.status in (S.TRIALING, S.ACTIVE):
        if not subscription.cancel_at_period_end:
            events.append(_staying(subscription, cause="cancel_scheduled", now=now, actor=actor))
        subscription.cancel_at_period_end = True
    else:
        events.append(_move(subscription, S.CANCELED, cause="canceled", now=now, actor=actor))
    _save(subscription, events)
    _account_benefits(account, subscription, program_get().subscription_grace_days)
    return subscription


@transaction.atomic
def subscription_resume(*, subscription: Subscription, now: dt.datetime, actor: str = "") -> Subscription:
    """Undo a cancellation scheduled for the period's end: the subscription renews again and its benefits
    last as for any paid period (with grace). Recorded as a `cancel_unscheduled` event with `actor`.

    Raises InvalidState for a subscription that is not live or has no cancellation scheduled; writes
    nothing then."""
    account = account_lock(member_id=subscription.member_id)
    subscription = Subscription.objects.select_related("plan").get(pk=subscription.pk)
    if subscription.status not in LIVE_STATUSES:
        raise InvalidState(f"The subscription is already {subscription.status}.", param="subscription")
    if not subscription.cancel_at_period_end:
        raise InvalidState("No cancellation is scheduled for this subscription.", param="subscription")
    subscription.cancel_at_period_end = False
    _save(subscription, [_staying(subscription, cause="cancel_unscheduled", now=now, actor=actor)])
    _account_benefits(account, subscription, program_get().subscription_grace_days)
    return subscription


EXTEND_DAYS_MAX = 366


@transaction.atomic
def subscription_extend(
    *, subscription: Subscription, days: int, actor: str, note: str, now: dt.datetime
) -> Subscription:
    """Goodwill: move the current period's end (and with it the plan's benefits) `days` whole days later,
    recorded as an `extended` event with `actor` and `note`. The billing anchor stays: the shop's billing
    system charges on its own schedule, and the period a payment pays is counted from the anchor as before
    (month ends never drift); what the gift moves is when the current period, and its benefits, end.

    Raises InvalidExtension for days outside 1..366 (or not a whole number), InvalidState for a subscription
    that is not live; writes nothing then."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= EXTEND_DAYS_MAX:
        raise InvalidExtension(f"An extension is 1 to {EXTEND_DAYS_MAX} whole days.", param="days")
    account = account_lock(member_id=subscription.member_id)
    subscription = Subscription.objects.select_related("plan").get(pk=subscription.pk)
    if subscription.status not in LIVE_STATUSES:
        raise InvalidState(f"A {subscription.status} subscription cannot be extended.", param="subscription")
    note = (note or "").strip()[:500]
    subscription.current_period_end += dt.timedelta(days=days)
    event = _staying(subscription, cause="extended", now=now, actor=actor, note=note or f"extended by {days} days")
    _save(subscription, [event])
    _account_benefits(account, subscription, program_get().subscription_grace_days)
    return subscription
