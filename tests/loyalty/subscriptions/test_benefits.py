"""Plan benefits (multiplier, subscribers-only rewards, perks) switch on and off at the right instants:
while trialing, active, or past due within grace; not after expiry, immediate cancellation, or the end
of a period canceled at period end. The services and the job get explicit `now` values; API checks set
the subscription up relative to the real clock."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.earning.services import transaction_create
from loyalty.ledger.models import Account
from loyalty.program.loading import program_load
from loyalty.subscriptions.benefits import plan_benefits_hold
from loyalty.subscriptions.jobs import renew_subscriptions
from rewards.errors import SubscriptionRequired
from rewards.models import Reward
from rewards.services import reward_redeem
from tests.support.subscriptions import DAY, GRACE, cancel, fresh, pay, subscribe

T0 = dt.datetime(2026, 4, 30, 10, 0, tzinfo=dt.UTC)  # after the `now` fixture, when member_with_points funds
SECOND = dt.timedelta(seconds=1)
_orders = itertools.count()


def plan_points(shop, member, at: dt.datetime, total: str = "25.00") -> int | None:
    """The `plan:<code>` share of a purchase made at `at`, or None when the plan gave nothing."""
    txn = transaction_create(
        shop=shop, member=member, external_id=f"order-{next(_orders)}", currency="EUR", total=Decimal(total),
        occurred_at=None, lines=None, fingerprint=f"fp-{next(_orders)}", now=at,
    ).transaction  # fmt: skip
    assert sum(item["points"] for item in txn.breakdown) == txn.points
    plan = [item for item in txn.breakdown if item["source"].startswith("plan:")]
    assert len(plan) <= 1
    return (plan[0]["source"], plan[0]["points"]) if plan else None


def benefits(member, at: dt.datetime) -> bool:
    return plan_benefits_hold(Account.objects.filter(member=member).first(), now=at)


def account(member) -> Account:
    return Account.objects.get(member=member)


def test_no_subscription_no_benefits(shop, member, plans):
    assert plan_points(shop, member, T0) is None
    assert not benefits(member, T0)


def test_incomplete_gives_nothing(shop, member, plus):
    subscribe(shop, member, plus, T0)
    assert plan_points(shop, member, T0 + DAY) is None
    assert not benefits(member, T0 + DAY)


def test_trial_gives_benefits_until_it_ends(shop, member, trial):
    subscribe(shop, member, trial, T0)
    end = T0 + 14 * DAY
    assert plan_points(shop, member, T0 + SECOND, "20.00") == ("plan:trial", 10)  # 20 × 1.5 = 30: 10 extra
    assert benefits(member, end - SECOND)
    assert not benefits(member, end)
    assert plan_points(shop, member, end) is None  # before the job ran
    renew_subscriptions(now=end)
    assert fresh(account(member).member.subscriptions.get()).status == "expired"
    assert account(member).plan_id is None
    assert not benefits(member, end)


def test_active_gives_benefits_through_the_period_and_grace(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    assert end == dt.datetime(2026, 5, 30, 10, tzinfo=dt.UTC)
    assert plan_points(shop, member, T0 + SECOND) == ("plan:plus", 25)
    assert plan_points(shop, member, end - SECOND) == ("plan:plus", 25)
    # The renewal is not reported yet: the benefits last the grace, whether or not the job ran.
    assert benefits(member, end + GRACE - SECOND)
    renew_subscriptions(now=end)
    assert fresh(subscription).status == "past_due"
    assert plan_points(shop, member, end + DAY) == ("plan:plus", 25)
    assert benefits(member, end + GRACE - SECOND)
    assert not benefits(member, end + GRACE)
    renew_subscriptions(now=end + GRACE)
    assert fresh(subscription).status == "expired"
    assert plan_points(shop, member, end + GRACE + SECOND) is None


def test_renewal_extends_benefits(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    pay(shop, subscription, "p2", end - DAY)
    end2 = fresh(subscription).current_period_end
    assert end2 == dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC)
    renew_subscriptions(now=end + GRACE)
    assert fresh(subscription).status == "active"
    assert benefits(member, end2 - SECOND)


def test_failed_payment_keeps_benefits_within_grace(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    failed_at = end - 2 * DAY
    pay(shop, subscription, "f1", failed_at, status="failed")
    assert fresh(subscription).status == "past_due"
    until = failed_at + GRACE  # later than the period's end
    assert plan_points(shop, member, end + DAY) == ("plan:plus", 25)
    assert benefits(member, until - SECOND)
    assert not benefits(member, until)
    renew_subscriptions(now=until - SECOND)
    assert fresh(subscription).status == "past_due"
    renew_subscriptions(now=until)
    assert fresh(subscription).status == "expired"
    assert plan_points(shop, member, until + SECOND) is None


def test_failed_payment_early_in_the_period_keeps_benefits_to_the_period_end(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    pay(shop, subscription, "f1", T0 + DAY, status="failed")
    assert benefits(member, end - SECOND)
    renew_subscriptions(now=end - SECOND)
    assert fresh(subscription).status == "past_due"


def test_past_due_paid_again_restores_benefits(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    renew_subscriptions(now=end)
    pay(shop, subscription, "p2", end + 3 * DAY)
    subscription = fresh(subscription)
    assert subscription.status == "active" and subscription.past_due_since is None
    assert subscription.current_period_start == end  # the period counts from the anchor, not from the payment
    assert benefits(member, subscription.current_period_end - SECOND)


def test_immediate_cancellation_ends_benefits_now(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    canceled_at = T0 + 3 * DAY
    assert plan_points(shop, member, canceled_at - SECOND) == ("plan:plus", 25)
    cancel(subscription, canceled_at, at_period_end=False)
    assert account(member).plan_id is None
    assert not benefits(member, canceled_at)
    assert plan_points(shop, member, canceled_at + SECOND) is None


def test_cancel_at_period_end_gives_benefits_until_the_end_without_grace(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    cancel(subscription, T0 + DAY, at_period_end=True)
    subscription = fresh(subscription)
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    assert plan_points(shop, member, end - SECOND) == ("plan:plus", 25)
    assert not benefits(member, end)
    assert plan_points(shop, member, end) is None  # the job has not run yet
    renew_subscriptions(now=end)
    assert fresh(subscription).status == "canceled"
    assert account(member).plan_id is None


def test_trial_canceled_at_period_end(shop, member, trial):
    subscription = subscribe(shop, member, trial, T0)
    cancel(subscription, T0 + DAY, at_period_end=True)
    assert benefits(member, T0 + 14 * DAY - SECOND)
    assert not benefits(member, T0 + 14 * DAY)
    renew_subscriptions(now=T0 + 14 * DAY)
    assert fresh(subscription).status == "canceled"


# --- subscribers-only rewards ------------------------------------------------------------------------


@pytest.fixture
def vip(program) -> Reward:
    program_load(
        {"rewards": [{"code": "VIP", "name": "VIP lounge", "kind": "experience", "points_cost": 300,
                      "value": "0", "subscribers_only": True}]}
    )  # fmt: skip
    return Reward.objects.get(code="VIP")


def test_subscribers_only_reward_follows_the_benefits(shop, plus, vip, member_with_points):
    member = member_with_points(1000)
    with pytest.raises(SubscriptionRequired) as refused:
        reward_redeem(member=member, reward=vip, shop=shop, now=T0)
    assert refused.value.code == "subscription_required"
    subscription = subscribe(shop, member, plus, T0)
    with pytest.raises(SubscriptionRequired):  # incomplete: not paid yet
        reward_redeem(member=member, reward=vip, shop=shop, now=T0)
    pay(shop, subscription, "p1", T0)
    end = fresh(subscription).current_period_end
    assert reward_redeem(member=member, reward=vip, shop=shop, now=T0 + DAY).redemption.points == 300
    renew_subscriptions(now=end + GRACE)
    with pytest.raises(SubscriptionRequired):
        reward_redeem(member=member, reward=vip, shop=shop, now=end + GRACE)


def test_subscribers_only_reward_while_trialing_then_canceled(shop, trial, vip, member_with_points):
    member = member_with_points(1000)
    subscription = subscribe(shop, member, trial, T0)
    reward_redeem(member=member, reward=vip, shop=shop, now=T0 + DAY)
    cancel(subscription, T0 + 2 * DAY, at_period_end=False)
    with pytest.raises(SubscriptionRequired):
        reward_redeem(member=member, reward=vip, shop=shop, now=T0 + 2 * DAY)


# --- through the API, on the real clock -----------------------------------------------------------------


def _paid_at(shop, member, plan, at):
    subscription = subscribe(shop, member, plan, at)
    pay(shop, subscription, f"p-{member.pk}", at)
    return fresh(subscription)


def test_api_perks_and_subscription_while_benefits_hold(api, shop, member, plus):
    path = f"/api/v1/members/{member.public_id}"
    assert api.get(path).json()["perks"] == []
    subscription = _paid_at(shop, member, plus, timezone.now() - DAY)
    body = api.get(path).json()
    assert body["perks"] == ["free_express_shipping"]
    assert body["subscription"]["id"] == subscription.public_id and body["subscription"]["status"] == "active"
    cancel(subscription, timezone.now(), at_period_end=False)
    body = api.get(path).json()
    assert (body["perks"], body["subscription"]) == ([], None)


def test_api_perks_gone_after_the_grace_even_before_the_job(api, shop, member, plus):
    """Paid 40 days ago, never renewed: period and grace are over, the job has not run yet."""
    _paid_at(shop, member, plus, timezone.now() - 40 * DAY)
    body = api.get(f"/api/v1/members/{member.public_id}").json()
    assert body["perks"] == []
    assert body["subscription"]["status"] == "active"  # stale until the job runs, but no benefits
    renew_subscriptions(now=timezone.now())
    body = api.get(f"/api/v1/members/{member.public_id}").json()
    assert (body["perks"], body["subscription"]) == ([], None)


def test_api_perks_within_grace(api, shop, member, plus):
    """Paid 33 days ago: the period ended, the grace has not."""
    subscription = _paid_at(shop, member, plus, timezone.now() - 33 * DAY)
    renew_subscriptions(now=timezone.now())
    assert fresh(subscription).status == "past_due"
    body = api.get(f"/api/v1/members/{member.public_id}").json()
    assert body["perks"] == ["free_express_shipping"]
    assert body["subscription"]["status"] == "past_due"


def test_api_purchase_breakdown_has_the_plan_multiplier(api, member, plus):
    subscription_id = api.post("/api/v1/subscriptions", {"member": member.public_id, "plan": "plus"}).json()["id"]
    order = {"member": member.public_id, "currency": "EUR", "total": "25.00"}
    before = api.post("/api/v1/transactions", {**order, "external_id": "o1"}).json()
    assert before["breakdown"] == [{"source": "base", "points": 25}]
    api.post(
        f"/api/v1/subscriptions/{subscription_id}/payments",
        {"external_id": "p1", "amount": "4.99", "currency": "EUR", "status": "succeeded"},
    )
    after = api.post("/api/v1/transactions", {**order, "external_id": "o2"}).json()
    assert after["points"] == 50
    assert after["breakdown"] == [{"source": "base", "points": 25}, {"source": "plan:plus", "points": 25}]
    preview = api.post("/api/v1/transactions/preview", {**order, "external_id": "o3"}).json()
    assert preview["points"] == 50


def test_api_redemption_of_subscribers_only_reward(api, shop, vip, plus, member_with_points):
    member = member_with_points(1000)
    body = {"member": member.public_id, "reward": "VIP"}
    response = api.post("/api/v1/redemptions", body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "subscription_required")
    eligibility = api.get("/api/v1/rewards", {"member": member.public_id}).json()
    rows = eligibility["results"] if isinstance(eligibility, dict) else eligibility
    assert [r["eligibility"] for r in rows if r["code"] == "VIP"] == [
        {"eligible": False, "reason": "subscription_required"}
    ]
    _paid_at(shop, member, plus, timezone.now() - DAY)
    response = api.post("/api/v1/redemptions", body)
    assert response.status_code == 201, response.json()
