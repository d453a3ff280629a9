"""Subscriptions under races, on PostgreSQL with real threads (the `parallel` fixture): identical payments
have one effect and one bonus; a payment racing a cancellation ends in a state one of the two orders
gives; two subscriptions for one member leave exactly one live. Each call is its own committed
transaction on its own connection; the suite-wide ledger_verify() runs after every test."""

import datetime as dt
from collections import Counter

import pytest

from loyalty.errors import InvalidState
from loyalty.ledger.models import Account
from loyalty.ledger.verify import ledger_verify
from loyalty.subscriptions.jobs import renew_subscriptions
from loyalty.subscriptions.models import Subscription, SubscriptionEvent, SubscriptionPayment
from tests.factories import MemberFactory
from tests.support.api import balance
from tests.support.subscriptions import DAY, GRACE, SUBSCRIPTIONS, bonus_entries, cancel, fresh, moves, pay, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 4, 30, 10, 0, tzinfo=dt.UTC)


def kinds(outcomes) -> Counter:
    return Counter("ok" if o.ok else getattr(o.error, "code", type(o.error).__name__) for o in outcomes)


def test_ten_identical_payments_have_one_effect(parallel, shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    outcomes = parallel([lambda: pay(shop, subscription, "same", T0 + DAY) for _ in range(10)])
    assert kinds(outcomes) == {"ok": 10}
    assert sorted(o.value[1] for o in outcomes) == [False] * 9 + [True]
    assert len({o.value[0].pk for o in outcomes}) == 1
    assert SubscriptionPayment.objects.count() == 1
    assert bonus_entries(member) == [100]
    assert balance(member) == (100, 0, 0)
    subscription = fresh(subscription)
    assert (subscription.status, subscription.periods_paid) == ("active", 1)
    assert moves(subscription) == [("", "incomplete", "created"), ("incomplete", "active", "payment_succeeded")]


def test_ten_identical_payments_through_the_api(parallel, api, member, plans):
    sub_id = api.post(SUBSCRIPTIONS, {"member": member.public_id, "plan": "plus"}).json()["id"]
    body = {"external_id": "same", "amount": "4.99", "currency": "EUR", "status": "succeeded"}
    outcomes = parallel([lambda: api.post(f"{SUBSCRIPTIONS}/{sub_id}/payments", body) for _ in range(10)])
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    statuses = Counter(o.value.status_code for o in outcomes)
    assert statuses == {201: 1, 200: 9}, [o.value.json() for o in outcomes]
    assert len({o.value.json()["id"] for o in outcomes}) == 1
    assert bonus_entries(member) == [100]
    assert SubscriptionPayment.objects.count() == 1


def test_ten_different_payments_are_ten_periods(parallel, shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    outcomes = parallel([lambda i=i: pay(shop, subscription, f"p{i}", T0 + DAY) for i in range(10)])
    assert kinds(outcomes) == {"ok": 10}
    subscription = fresh(subscription)
    assert subscription.periods_paid == 10
    ends = sorted(SubscriptionPayment.objects.values_list("period_end", flat=True))
    starts = sorted(SubscriptionPayment.objects.values_list("period_start", flat=True))
    assert starts[1:] == ends[:-1]  # contiguous periods, none paid twice
    assert bonus_entries(member) == [100] * 10


@pytest.mark.parametrize("at_period_end", [False, True])
def test_payment_racing_a_cancellation_ends_consistently(parallel, shop, plus, at_period_end):
    rounds = 8
    subscriptions = []
    for _ in range(rounds):
        subscription = subscribe(shop, MemberFactory(), plus, T0)
        pay(shop, subscription, "first-" + subscription.public_id, T0)
        subscriptions.append(fresh(subscription))
    calls = []
    for subscription in subscriptions:
        calls.append(lambda s=subscription: pay(shop, s, "second-" + s.public_id, T0 + DAY))
        calls.append(lambda s=subscription: cancel(s, T0 + DAY, at_period_end=at_period_end))
    outcomes = parallel(calls, threads=len(calls))
    for index, original in enumerate(subscriptions):
        paid, canceled = outcomes[2 * index], outcomes[2 * index + 1]
        assert canceled.ok, canceled.error
        subscription = fresh(original)
        payments = SubscriptionPayment.objects.filter(subscription=subscription).count()
        bonuses = bonus_entries(subscription.member)
        account = Account.objects.get(member=subscription.member)
        if at_period_end:  # either order: the payment lands, the cancellation waits for the period end
            assert paid.ok, paid.error
            assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
            assert (subscription.periods_paid, payments, bonuses) == (2, 2, [100, 100])
            assert account.plan_benefits_until == subscription.current_period_end
        elif paid.ok:  # paid, then canceled
            assert subscription.status == "canceled"
            assert (subscription.periods_paid, payments, bonuses) == (2, 2, [100, 100])
            assert account.plan_id is None
        else:  # canceled, then the payment refused, writing nothing
            assert isinstance(paid.error, InvalidState)
            assert subscription.status == "canceled"
            assert (subscription.periods_paid, payments, bonuses) == (1, 1, [100])
            assert account.plan_id is None
        if not at_period_end:
            assert moves(subscription)[-1] == ("active", "canceled", "canceled")
            assert subscription.ended_at == T0 + DAY
    assert not ledger_verify()


def test_two_subscriptions_for_one_member_leave_one_live(parallel, shop, plans):
    members = [MemberFactory() for _ in range(5)]
    calls = []
    for member_ in members:
        calls.append(lambda m=member_: subscribe(shop, m, plans["plus"], T0))
        calls.append(lambda m=member_: subscribe(shop, m, plans["trial"], T0))
    outcomes = parallel(calls)
    assert kinds(outcomes) == {"ok": 5, "invalid_state": 5}
    for member_ in members:
        assert Subscription.objects.filter(member=member_).count() == 1
        assert SubscriptionEvent.objects.filter(subscription__member=member_).count() == 1


def test_two_subscriptions_through_the_api(parallel, api, plans):
    member_ = MemberFactory()
    body = {"member": member_.public_id, "plan": "trial"}
    outcomes = parallel([lambda: api.post(SUBSCRIPTIONS, body) for _ in range(6)])
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    codes = Counter((o.value.status_code, o.value.json().get("error", {}).get("code")) for o in outcomes)
    assert codes == {(201, None): 1, (422, "invalid_state"): 5}
    assert Subscription.objects.filter(member=member_).count() == 1


def test_job_racing_a_late_payment(parallel, shop, plus):
    """At the end of the grace, the job and a payment race: either the payment lands first (active, the
    job finds nothing due) or the job expires it first (the payment is refused)."""
    subscriptions = []
    for _ in range(6):
        subscription = subscribe(shop, MemberFactory(), plus, T0)
        pay(shop, subscription, "first-" + subscription.public_id, T0)
        subscriptions.append(fresh(subscription))
    at = subscriptions[0].current_period_end + GRACE
    calls = [lambda: renew_subscriptions(now=at)]
    calls += [lambda s=s: pay(shop, s, "late-" + s.public_id, at) for s in subscriptions]
    outcomes = parallel(calls)
    assert outcomes[0].ok, outcomes[0].error
    for original, outcome in zip(subscriptions, outcomes[1:], strict=True):
        subscription = fresh(original)
        if outcome.ok:
            assert subscription.status == "active" and subscription.periods_paid == 2
        else:
            assert isinstance(outcome.error, InvalidState)
            assert subscription.status == "expired" and subscription.periods_paid == 1
    renew_subscriptions(now=at)  # anything skipped while locked is done now
    assert set(Subscription.objects.values_list("status", flat=True)) <= {"active", "expired"}
