"""Undoing a cancellation scheduled for the period's end (`subscription_resume`): the subscription renews again,
its benefits last as for any paid period, the undo is recorded with who did it; anything else is refused and
writes nothing."""

import datetime as dt

import pytest

from loyalty.errors import InvalidState
from loyalty.ledger.models import Account
from loyalty.subscriptions.jobs import renew_subscriptions
from loyalty.subscriptions.models import SubscriptionEvent
from loyalty.subscriptions.services import subscription_cancel, subscription_resume
from tests.factories import MemberFactory
from tests.support.subscriptions import DAY, GRACE, fresh, pay, snapshot, subscribe

T0 = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)


def paid(shop, plan, now=T0):
    subscription = subscribe(shop, MemberFactory(), plan, now)
    pay(shop, subscription, f"pay-{subscription.public_id}", now)
    return fresh(subscription)


def benefits_until(subscription) -> dt.datetime | None:
    return Account.objects.get(member_id=subscription.member_id).plan_benefits_until


def test_resume_undoes_the_scheduled_cancel_and_records_it(shop, plus):
    subscription = paid(shop, plus)
    subscription_cancel(subscription=subscription, at_period_end=True, now=T0 + DAY, actor="member")
    assert benefits_until(subscription) == subscription.current_period_end

    resumed = subscription_resume(subscription=subscription, now=T0 + 2 * DAY, actor="member")

    assert resumed.cancel_at_period_end is False and fresh(subscription).cancel_at_period_end is False
    assert fresh(subscription).status == "active"
    assert benefits_until(subscription) == subscription.current_period_end + GRACE
    events = list(
        SubscriptionEvent.objects.filter(subscription=subscription, cause__startswith="cancel_")
        .order_by("id")
        .values_list("from_status", "to_status", "cause", "actor", "created_at")
    )
    assert events == [
        ("active", "active", "cancel_scheduled", "member", T0 + DAY),
        ("active", "active", "cancel_unscheduled", "member", T0 + 2 * DAY),
    ]


def test_a_resumed_subscription_is_not_canceled_at_period_end(shop, plus):
    subscription = paid(shop, plus)
    end = subscription.current_period_end
    subscription_cancel(subscription=subscription, at_period_end=True, now=T0 + DAY)
    subscription_resume(subscription=subscription, now=T0 + 2 * DAY)

    renew_subscriptions(now=end + dt.timedelta(minutes=1))

    assert fresh(subscription).status != "canceled"


def test_resume_of_a_trial_keeps_its_benefits_to_the_trial_end(shop, trial):
    subscription = subscribe(shop, MemberFactory(), trial, T0)
    subscription_cancel(subscription=subscription, at_period_end=True, now=T0 + DAY)

    subscription_resume(subscription=subscription, now=T0 + 2 * DAY)

    assert fresh(subscription).status == "trialing" and not fresh(subscription).cancel_at_period_end
    assert benefits_until(subscription) == subscription.current_period_end == T0 + 14 * DAY


def test_resume_with_nothing_scheduled_is_refused_and_writes_nothing(shop, plus):
    subscription = paid(shop, plus)
    before = snapshot()

    with pytest.raises(InvalidState):
        subscription_resume(subscription=subscription, now=T0 + DAY)

    assert snapshot() == before


@pytest.mark.parametrize("how", ["canceled now", "canceled at period end"])
def test_resume_of_an_ended_subscription_is_refused_and_writes_nothing(shop, plus, how):
    subscription = paid(shop, plus)
    if how == "canceled now":
        subscription_cancel(subscription=subscription, at_period_end=False, now=T0 + DAY)
    else:
        subscription_cancel(subscription=subscription, at_period_end=True, now=T0 + DAY)
        renew_subscriptions(now=subscription.current_period_end + dt.timedelta(minutes=1))
    assert fresh(subscription).status == "canceled"
    before = snapshot()

    with pytest.raises(InvalidState):
        subscription_resume(subscription=subscription, now=T0 + 40 * DAY)

    assert snapshot() == before
