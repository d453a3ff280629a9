"""The subscription page's staff actions: Cancel now, Cancel at period end, Extend. Each has a confirmation
page, calls its service as `staff:<username>`, leaves a LogEntry, and shows a refusal without writing."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from loyalty.subscriptions.models import SubscriptionEvent
from tests.factories import MemberFactory
from tests.support.subscriptions import DAY, fresh, pay, snapshot, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create(username="agent", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def active(shop, plus):
    now = timezone.now()
    subscription = subscribe(shop, MemberFactory(), plus, now)
    pay(shop, subscription, "pay-1", now)
    return fresh(subscription)


def url(subscription, action: str = "") -> str:
    return f"/admin/loyalty/subscription/{subscription.pk}/{action + '/' if action else 'change/'}"


def test_the_page_offers_the_three_actions_and_the_events_show_actor_and_note(staff, active):
    SubscriptionEvent.objects.filter(subscription=active).update(actor="staff:someone", note="first note")

    page = staff.get(url(active), secure=True)

    assert page.status_code == 200
    html = page.content.decode()
    for action in ("cancel-now", "cancel-at-period-end", "extend"):
        assert url(active, action) in html
    assert "staff:someone" in html and "first note" in html


def test_cancel_now_asks_first_then_cancels_as_the_staff_member(staff, active):
    confirm = staff.get(url(active, "cancel-now"), secure=True)
    assert confirm.status_code == 200 and b'data-testid="confirm"' in confirm.content
    assert fresh(active).status == "active"  # asking wrote nothing

    done = staff.post(url(active, "cancel-now"), {}, secure=True, follow=True)

    assert fresh(active).status == "canceled"
    assert SubscriptionEvent.objects.filter(subscription=active).last().actor == "staff:agent"
    assert LogEntry.objects.get(object_id=str(active.pk)).get_change_message() == "Canceled now."
    assert "done" in done.content.decode()


def test_cancel_at_period_end_keeps_it_live(staff, active):
    staff.post(url(active, "cancel-at-period-end"), {}, secure=True)

    assert fresh(active).status == "active" and fresh(active).cancel_at_period_end
    event = SubscriptionEvent.objects.filter(subscription=active).last()
    assert (event.cause, event.actor) == ("cancel_scheduled", "staff:agent")
    assert LogEntry.objects.get(object_id=str(active.pk)).get_change_message() == "Canceled at period end."


def test_extend_moves_the_end_and_records_the_note(staff, active):
    end = active.current_period_end

    r = staff.post(url(active, "extend"), {"days": "10", "note": "parcel lost"}, secure=True)

    assert r.status_code == 302
    assert fresh(active).current_period_end == end + 10 * DAY
    event = SubscriptionEvent.objects.filter(subscription=active).last()
    assert (event.cause, event.actor, event.note) == ("extended", "staff:agent", "parcel lost")
    assert LogEntry.objects.get(object_id=str(active.pk)).get_change_message() == "Extended by 10 days: parcel lost"


@pytest.mark.parametrize("days", ["0", "367", "abc", ""])
def test_extend_with_bad_days_shows_the_form_again_and_writes_nothing(staff, active, days):
    before = snapshot()

    r = staff.post(url(active, "extend"), {"days": days, "note": "x"}, secure=True)

    assert r.status_code == 400 and b"changed successfully" not in r.content and b"done for" not in r.content
    assert snapshot() == before and not LogEntry.objects.exists()


def test_a_refused_action_shows_the_error_and_never_success(staff, active):
    staff.post(url(active, "cancel-now"), {}, secure=True, follow=True)  # its success message shown there
    before = snapshot()

    r = staff.post(url(active, "extend"), {"days": "3", "note": "too late"}, secure=True)

    assert r.status_code == 422
    assert b'data-testid="action-error"' in r.content and b"cannot be extended" in r.content
    assert b"changed successfully" not in r.content and b"done for" not in r.content
    assert snapshot() == before and LogEntry.objects.count() == 1  # only the cancel's


def test_staff_without_the_permission_cannot_act(active):
    client = Client(HTTP_HOST="127.0.0.1")
    user = User.objects.create(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    client.force_login(user)
    before = snapshot()

    r = client.post(url(active, "cancel-now"), {}, secure=True)

    assert r.status_code == 403 and snapshot() == before
    assert url(active, "cancel-now") not in client.get(url(active), secure=True).content.decode()


def test_an_unknown_subscription_is_404(staff, program):
    assert staff.get("/admin/loyalty/subscription/999999/extend/", secure=True).status_code == 404


def test_the_subscription_page_queries_are_bounded(staff, active, django_assert_max_num_queries):
    for n in range(5):
        SubscriptionEvent.objects.create(subscription=active, from_status="active", to_status="active",
                                         cause="extended", actor="staff:x", note=str(n),
                                         created_at=timezone.now() + dt.timedelta(seconds=n))  # fmt: skip
    with django_assert_max_num_queries(30):
        assert staff.get(url(active), secure=True).status_code == 200
