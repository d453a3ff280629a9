"""/portal/subscription: the member's plan (status, period end, perks), cancelling it at the period's end after
a confirmation and taking that back; without a plan, the plans on offer and what they give."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from loyalty.subscriptions.models import Subscription, SubscriptionEvent
from members.models import Member
from tests.factories import MemberFactory
from tests.support.portal import signed_in
from tests.support.subscriptions import fresh, pay, subscribe

STATUS = 'data-testid="subscription-status"'
CANCEL = 'data-testid="cancel-subscription"'
CONFIRM = 'data-testid="confirm"'
RESUME = 'data-testid="resume-subscription"'


def paid(shop, member, plan, at=None) -> Subscription:
    at = at or timezone.now() - dt.timedelta(days=1)
    subscription = subscribe(shop, member, plan, at)
    pay(shop, subscription, f"pay-{subscription.public_id}", at)
    return fresh(subscription)


def text(response) -> str:
    return response.content.decode()


def test_without_a_plan_the_plans_on_offer_show_what_they_give(portal, plans):
    page = text(portal.get("/portal/subscription"))

    assert STATUS not in page and CANCEL not in page
    assert page.count('data-testid="plan"') == 3
    assert "4.99 EUR a month" in page and "49.00 EUR a year" in page
    assert "2 × points on every purchase" in page and "1.5 × points on every purchase" in page
    assert "+1,000 points each paid period" in page
    assert "Free express shipping" in page and "14 days free trial" in page


def test_an_active_plan_shows_status_period_end_and_perks(portal, member, shop, plus):
    subscription = paid(shop, member, plus)

    page = text(portal.get("/portal/subscription"))

    assert f'{STATUS} data-status="active">Active<' in page
    assert f'Paid until</dt><dd data-testid="period-end">{subscription.current_period_end:%-d %b %Y}' in page
    assert "Free express shipping" in page and CANCEL in page and RESUME not in page
    assert 'data-testid="plan"' not in page


def test_a_trial_shows_when_it_ends(portal, member, shop, trial):
    subscription = subscribe(shop, member, trial, timezone.now())

    page = text(portal.get("/portal/subscription"))

    assert f'{STATUS} data-status="trialing">Free trial<' in page
    assert f'Trial ends on</dt><dd data-testid="period-end">{subscription.current_period_end:%-d %b %Y}' in page


def test_cancelling_asks_first_and_the_question_changes_nothing(portal, member, shop, plus):
    subscription = paid(shop, member, plus)
    events = SubscriptionEvent.objects.count()

    page = text(portal.get("/portal/subscription/cancel"))

    assert CONFIRM in page and f"perks until {subscription.current_period_end:%-d %b %Y}" in page
    assert fresh(subscription).cancel_at_period_end is False and SubscriptionEvent.objects.count() == events


def test_confirming_cancels_at_the_period_end_as_the_member(portal, member, shop, plus):
    subscription = paid(shop, member, plus)

    r = portal.post("/portal/subscription/cancel")

    assert r.status_code == 302 and r["Location"] == "/portal/subscription"
    stored = fresh(subscription)
    assert stored.status == "active" and stored.cancel_at_period_end is True
    event = SubscriptionEvent.objects.filter(subscription=subscription).last()
    assert (event.cause, event.actor) == ("cancel_scheduled", "member")
    page = text(portal.get("/portal/subscription"))
    assert "Your plan is cancelled." in page and RESUME in page and CANCEL not in page
    assert f'Ends on</dt><dd data-testid="period-end">{stored.current_period_end:%-d %b %Y}' in page


def test_undo_keeps_the_plan(portal, member, shop, plus):
    subscription = paid(shop, member, plus)
    portal.post("/portal/subscription/cancel")

    r = portal.post("/portal/subscription/resume")

    assert r.status_code == 302
    assert fresh(subscription).cancel_at_period_end is False
    event = SubscriptionEvent.objects.filter(subscription=subscription).last()
    assert (event.cause, event.actor) == ("cancel_unscheduled", "member")
    page = text(portal.get("/portal/subscription"))
    assert "Your plan continues" in page and CANCEL in page and RESUME not in page


def test_undo_with_nothing_scheduled_says_so_and_changes_nothing(portal, member, shop, plus):
    subscription = paid(shop, member, plus)
    events = SubscriptionEvent.objects.count()

    page = text(portal.post("/portal/subscription/resume", follow=True))

    assert "There is no cancellation to undo." in page
    assert SubscriptionEvent.objects.count() == events and fresh(subscription).cancel_at_period_end is False


def test_an_unpaid_plan_is_cancelled_at_once(portal, member, shop, plus):
    subscription = subscribe(shop, member, plus, timezone.now())
    assert "plan ends now" in text(portal.get("/portal/subscription/cancel"))

    portal.post("/portal/subscription/cancel")

    assert fresh(subscription).status == "canceled"
    assert 'data-testid="plan"' in text(portal.get("/portal/subscription"))


def test_a_member_sees_and_cancels_only_their_own_plan(portal, shop, plus, plans):
    other = MemberFactory()
    theirs = paid(shop, other, plus)

    page = text(portal.get("/portal/subscription"))
    r = portal.post("/portal/subscription/cancel")

    assert STATUS not in page and 'data-testid="plan"' in page
    assert r.status_code == 302 and fresh(theirs).cancel_at_period_end is False


def test_posts_need_the_csrf_token(member, shop, plus):
    subscription = paid(shop, member, plus)
    client = signed_in(member, Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True))

    assert client.post("/portal/subscription/cancel").status_code == 403
    assert fresh(subscription).cancel_at_period_end is False


def test_a_visitor_is_sent_to_sign_in(visitor, db):
    for path in ("/portal/subscription", "/portal/subscription/cancel"):
        r = visitor.get(path)
        assert r.status_code == 302 and r["Location"] == "/portal/login"


def test_german_prices_and_dates(portal, member, shop, plus):
    Member.objects.filter(pk=member.pk).update(locale="de")
    paid(shop, member, plus, at=dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC))

    page = text(portal.get("/portal/subscription"))

    assert '<html lang="de">' in page and "4,99 EUR" in page


@pytest.mark.parametrize("renewals", [1, 12])
def test_the_page_costs_the_same_however_long_the_plan_ran(
    portal, member, shop, plus, renewals, django_assert_max_num_queries
):
    start = timezone.now() - dt.timedelta(days=31 * renewals)
    subscription = paid(shop, member, plus, at=start)
    for n in range(1, renewals):
        pay(shop, subscription, f"renewal-{n}", start + dt.timedelta(days=31 * n))

    with django_assert_max_num_queries(6):
        assert portal.get("/portal/subscription").status_code == 200
    with django_assert_max_num_queries(6):
        assert portal.get("/portal/subscription/cancel").status_code == 200
