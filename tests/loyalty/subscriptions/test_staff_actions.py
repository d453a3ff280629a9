"""What staff do to a subscription, through the services: cancel (now or at period end) and extend a period as
goodwill, each recorded as an event with who did it."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.errors import InvalidState
from loyalty.ledger.models import Account
from loyalty.subscriptions.errors import InvalidExtension
from loyalty.subscriptions.models import SubscriptionEvent
from loyalty.subscriptions.services import subscription_cancel, subscription_extend
from tests.factories import MemberFactory
from tests.support.subscriptions import DAY, GRACE, fresh, pay, snapshot, subscribe

T0 = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)
STAFF = "staff:agent"


def paid(shop, plan, now=T0):
    subscription = subscribe(shop, MemberFactory(), plan, now)
    pay(shop, subscription, f"pay-{subscription.public_id}", now)
    return fresh(subscription)


def last_event(subscription) -> SubscriptionEvent:
    return SubscriptionEvent.objects.filter(subscription=subscription).order_by("id").last()


def benefits_until(subscription) -> dt.datetime | None:
    return Account.objects.get(member_id=subscription.member_id).plan_benefits_until


def test_cancel_now_records_the_actor(shop, plus):
    subscription = paid(shop, plus)

    subscription_cancel(subscription=subscription, at_period_end=False, now=T0 + DAY, actor=STAFF)

    event = last_event(subscription)
    assert (event.from_status, event.to_status, event.cause, event.actor) == ("active", "canceled", "canceled", STAFF)
    assert fresh(subscription).status == "canceled" and benefits_until(subscription) is None


def test_cancel_at_period_end_is_recorded_with_the_actor_once(shop, plus):
    subscription = paid(shop, plus)

    subscription_cancel(subscription=subscription, at_period_end=True, now=T0 + DAY, actor=STAFF)
    subscription_cancel(subscription=subscription, at_period_end=True, now=T0 + 2 * DAY, actor="staff:other")

    events = list(SubscriptionEvent.objects.filter(subscription=subscription, cause="cancel_scheduled"))
    assert [(e.from_status, e.to_status, e.actor, e.created_at) for e in events] == [
        ("active", "active", STAFF, T0 + DAY)
    ]
    assert fresh(subscription).cancel_at_period_end
    assert benefits_until(subscription) == fresh(subscription).current_period_end


def test_the_api_records_the_shop_as_actor(api, plus, member):
    r = api.post("/api/v1/subscriptions", {"member": member.public_id, "plan": "plus"})
    api.post(f"/api/v1/subscriptions/{r.json()['id']}/cancel", {"at_period_end": False})

    assert SubscriptionEvent.objects.get(cause="canceled").actor == "shop:shop-a"


def test_extend_moves_the_period_end_and_the_benefits(shop, plus):
    subscription = paid(shop, plus)
    end = subscription.current_period_end

    extended = subscription_extend(subscription=subscription, days=10, actor=STAFF, note="late parcel", now=T0 + DAY)

    assert extended.current_period_end == end + 10 * DAY == fresh(subscription).current_period_end
    assert benefits_until(subscription) == end + 10 * DAY + GRACE
    event = last_event(subscription)
    assert (event.from_status, event.to_status, event.cause, event.actor, event.note) == (
        "active", "active", "extended", STAFF, "late parcel",
    )  # fmt: skip
    assert fresh(subscription).anchor == subscription.anchor  # billing still counts from where it did


def test_extend_a_trial_moves_its_end(shop, trial):
    subscription = subscribe(shop, MemberFactory(), trial, T0)

    subscription_extend(subscription=subscription, days=1, actor=STAFF, note="", now=T0)

    assert fresh(subscription).current_period_end == T0 + 15 * DAY == benefits_until(subscription)
    assert last_event(subscription).note == "extended by 1 days"


def test_extend_after_cancel_at_period_end_keeps_the_cancellation(shop, plus):
    subscription = paid(shop, plus)
    subscription_cancel(subscription=subscription, at_period_end=True, now=T0, actor=STAFF)

    subscription_extend(subscription=subscription, days=7, actor=STAFF, note="sorry", now=T0)

    assert fresh(subscription).cancel_at_period_end
    assert benefits_until(subscription) == fresh(subscription).current_period_end


@pytest.mark.parametrize("days", [0, -1, 367, 10**9, 1.5, "3", True, None])
def test_extend_refuses_days_outside_1_to_366_and_writes_nothing(shop, plus, days):
    subscription = paid(shop, plus)
    before = snapshot()

    with pytest.raises(InvalidExtension) as refused:
        subscription_extend(subscription=subscription, days=days, actor=STAFF, note="", now=T0)

    assert refused.value.code == "invalid_extension" and refused.value.param == "days"
    assert snapshot() == before


def test_extend_refuses_an_ended_subscription_and_writes_nothing(shop, plus):
    subscription = paid(shop, plus)
    subscription_cancel(subscription=subscription, at_period_end=False, now=T0, actor=STAFF)
    before = snapshot()

    with pytest.raises(InvalidState):
        subscription_extend(subscription=subscription, days=3, actor=STAFF, note="", now=T0)

    assert snapshot() == before


@given(days=st.integers(min_value=1, max_value=366))
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])  # a new member each time
def test_any_whole_days_in_range_move_the_end_by_exactly_that(shop, plus, days):
    subscription = paid(shop, plus)
    end = subscription.current_period_end

    subscription_extend(subscription=subscription, days=days, actor=STAFF, note="", now=T0)

    assert fresh(subscription).current_period_end - end == dt.timedelta(days=days)
    assert benefits_until(subscription) == end + dt.timedelta(days=days) + GRACE


def test_the_next_payment_after_an_extension_pays_the_next_period_from_the_anchor(shop, plus):
    subscription = paid(shop, plus)
    subscription_extend(subscription=subscription, days=5, actor=STAFF, note="", now=T0)

    payment, _ = pay(shop, subscription, "pay-2", T0 + 28 * DAY)

    assert payment.period_start == dt.datetime(2026, 2, 28, 9, 0, tzinfo=dt.UTC)
    assert fresh(subscription).current_period_end == dt.datetime(2026, 3, 31, 9, 0, tzinfo=dt.UTC)
