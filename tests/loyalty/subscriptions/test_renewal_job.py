"""`renew_subscriptions`: the moves time makes, each through the transition table, with the accounts'
plan benefits kept in step; a rerun changes nothing."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty.ledger.models import Account
from loyalty.subscriptions.jobs import renew_subscriptions
from loyalty.subscriptions.models import Subscription
from tests.factories import MemberFactory
from tests.support.subscriptions import DAY, GRACE, cancel, fresh, moves, pay, snapshot, subscribe

T0 = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def plan_of(member):
    account = Account.objects.get(member=member)
    return account.plan_id, account.plan_benefits_until


def test_nothing_due(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    before = snapshot()
    run = renew_subscriptions(now=fresh(subscription).current_period_end - SECOND)
    assert run.counts == {}
    assert run.summary() == "renew_subscriptions: nothing due"
    assert snapshot() == before


def test_incomplete_expires_after_the_grace(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    renew_subscriptions(now=T0 + GRACE - SECOND)
    assert fresh(subscription).status == "incomplete"
    run = renew_subscriptions(now=T0 + GRACE)
    assert run.counts == {"never_paid": 1}
    subscription = fresh(subscription)
    assert (subscription.status, subscription.ended_at) == ("expired", T0 + GRACE)
    assert moves(subscription)[-1] == ("incomplete", "expired", "never_paid")


def test_trial_ends_unpaid(shop, member, trial):
    subscription = subscribe(shop, member, trial, T0)
    end = T0 + 14 * DAY
    renew_subscriptions(now=end - SECOND)
    assert fresh(subscription).status == "trialing"
    assert plan_of(member) == (trial.pk, end)
    assert renew_subscriptions(now=end).counts == {"trial_ended_unpaid": 1}
    assert fresh(subscription).status == "expired"
    assert plan_of(member) == (None, None)


def test_period_ended_unpaid_then_grace_ended(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    assert end == dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC)
    assert plan_of(member) == (plus.pk, end + GRACE)
    assert renew_subscriptions(now=end).counts == {"period_ended_unpaid": 1}
    subscription = fresh(subscription)
    assert (subscription.status, subscription.past_due_since) == ("past_due", end)
    assert plan_of(member) == (plus.pk, end + GRACE)
    assert renew_subscriptions(now=end + GRACE - SECOND).counts == {}
    assert renew_subscriptions(now=end + GRACE).counts == {"grace_ended": 1}
    subscription = fresh(subscription)
    assert (subscription.status, subscription.ended_at) == ("expired", end + GRACE)
    assert plan_of(member) == (None, None)
    assert [m[2] for m in moves(subscription)] == ["created", "payment_succeeded", "period_ended_unpaid", "grace_ended"]


def test_failed_payment_mid_period_expires_at_the_later_of_period_end_and_grace(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    pay(shop, subscription, "f1", T0 + DAY, status="failed")
    assert plan_of(member) == (plus.pk, end)
    renew_subscriptions(now=end - SECOND)
    assert fresh(subscription).status == "past_due"
    renew_subscriptions(now=end)
    assert fresh(subscription).status == "expired"


def test_repeated_failures_keep_the_first_past_due_instant(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    pay(shop, subscription, "f1", end - DAY, status="failed")
    pay(shop, subscription, "f2", end + DAY, status="failed")
    subscription = fresh(subscription)
    assert subscription.past_due_since == end - DAY
    assert plan_of(member) == (plus.pk, end - DAY + GRACE)
    renew_subscriptions(now=end - DAY + GRACE)
    assert fresh(subscription).status == "expired"


def test_canceled_at_period_end(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    cancel(subscription, T0 + DAY, at_period_end=True)
    assert plan_of(member) == (plus.pk, end)
    assert renew_subscriptions(now=end - SECOND).counts == {}
    assert renew_subscriptions(now=end).counts == {"canceled_at_period_end": 1}
    subscription = fresh(subscription)
    assert (subscription.status, subscription.ended_at) == ("canceled", end)
    assert plan_of(member) == (None, None)


def test_a_failed_payment_after_cancel_at_period_end_still_ends_canceled_at_period_end(shop, member, plus):
    """The member asked to stop at period end: a renewal charge failing meanwhile neither extends the
    benefits by the grace nor lets the subscription expire through it."""
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    cancel(subscription, T0 + DAY, at_period_end=True)
    payment, created = pay(shop, subscription, "f1", end - DAY, status="failed")
    assert created and payment.status == "failed"
    subscription = fresh(subscription)
    assert (subscription.status, subscription.cancel_at_period_end) == ("past_due", True)
    assert plan_of(member) == (plus.pk, end)  # benefits until the period end, not end - DAY + GRACE

    assert renew_subscriptions(now=end - SECOND).counts == {}
    assert fresh(subscription).status == "past_due"
    assert renew_subscriptions(now=end).counts == {"canceled_at_period_end": 1}

    subscription = fresh(subscription)
    assert (subscription.status, subscription.ended_at) == ("canceled", end)
    assert plan_of(member) == (None, None)
    assert moves(subscription)[-2:] == [
        ("active", "past_due", "payment_failed"),
        ("past_due", "canceled", "canceled_at_period_end"),
    ]
    before = snapshot()
    assert renew_subscriptions(now=end + GRACE).counts == {}
    assert snapshot() == before


def test_a_failed_trial_payment_after_cancel_at_period_end_ends_canceled_at_trial_end(shop, member, trial):
    subscription = subscribe(shop, member, trial, T0)
    end = T0 + 14 * DAY
    cancel(subscription, T0 + DAY, at_period_end=True)
    pay(shop, subscription, "f1", T0 + 2 * DAY, status="failed")
    assert plan_of(member) == (trial.pk, end)

    assert renew_subscriptions(now=end).counts == {"canceled_at_period_end": 1}

    subscription = fresh(subscription)
    assert (subscription.status, subscription.ended_at) == ("canceled", end)
    assert moves(subscription)[-2:] == [
        ("trialing", "past_due", "payment_failed"),
        ("past_due", "canceled", "canceled_at_period_end"),
    ]


def test_rerun_changes_nothing(shop, plans):
    members = [MemberFactory() for _ in range(4)]
    subscribe(shop, members[0], plans["plus"], T0)
    subscribe(shop, members[1], plans["trial"], T0)
    paid = subscribe(shop, members[2], plans["plus"], T0)
    pay(shop, paid, "p1", T0)
    failed = subscribe(shop, members[3], plans["trial"], T0)
    pay(shop, failed, "f1", T0, status="failed")
    later = T0 + 60 * DAY
    run = renew_subscriptions(now=later, chunk_size=1)
    assert run.counts == {
        "never_paid": 1, "trial_ended_unpaid": 1, "period_ended_unpaid": 1, "grace_ended": 2,
    }  # fmt: skip
    assert run.chunks == 4
    assert set(Subscription.objects.values_list("status", flat=True)) == {"expired"}
    assert not Account.objects.filter(plan__isnull=False).exists()
    before = snapshot()
    assert renew_subscriptions(now=later).counts == {}
    assert snapshot() == before


def test_ended_subscriptions_are_never_touched(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    cancel(subscription, T0 + DAY, at_period_end=False)
    before = snapshot()
    assert renew_subscriptions(now=T0 + 400 * DAY).counts == {}
    assert snapshot() == before


def test_a_new_subscription_after_an_expired_one(shop, member, plans):
    old = subscribe(shop, member, plans["plus"], T0)
    renew_subscriptions(now=T0 + GRACE)
    new = subscribe(shop, member, plans["trial"], T0 + GRACE + DAY)
    renew_subscriptions(now=T0 + GRACE + 2 * DAY)
    assert (fresh(old).status, fresh(new).status) == ("expired", "trialing")
    assert plan_of(member) == (plans["trial"].pk, T0 + GRACE + 15 * DAY)


@pytest.mark.parametrize("days_ago", [8])
def test_run_job_command(shop, member, plus, days_ago):
    subscription = subscribe(shop, member, plus, timezone.now() - days_ago * DAY)
    out = io.StringIO()
    call_command("run_job", "renew_subscriptions", stdout=out)
    assert out.getvalue().strip().startswith("renew_subscriptions: 1 never paid")
    assert fresh(subscription).status == "expired"
