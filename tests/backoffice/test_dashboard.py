"""The admin's index is a dashboard of today's figures, each shown only to staff who may see its rows."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.dashboard import dashboard_figures
from backoffice.selectors import day_of, purchases_between
from loyalty.jobs.registry import JOBS, job_run
from loyalty.program.loading import program_load
from loyalty.shops.models import ShopStaff
from rewards.models import Redemption
from rewards.services import redemption_cancel
from tests.support.api import purchase
from tests.support.rewards import redeemed, reward_item

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def figures_on(page: str) -> dict[str, str]:
    """`data-figure` key -> its value, as the dashboard shows them."""
    found = re.findall(r'data-figure="(\w+)">\s*<div[^>]*>([^<]*)</div>', page)
    return {key: value.strip() for key, value in found}


def staff_with(*codenames: str, username: str = "clerk") -> User:
    user = User.objects.create(username=username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # no cached permissions


@pytest.fixture
def a_day_of_business(api, member_with_points):
    """Before today: 1,000 points credited. Today: a 25.00 purchase (25 points), two rewards of 300 redeemed
    and one of them cancelled."""
    program_load({"rewards": [reward_item("R", points_cost=300)]})
    member = member_with_points(1000)
    assert api.post("/api/v1/transactions", purchase(member, total="25.00")).status_code == 201
    redeemed(api, member, "R")
    second = redeemed(api, member, "R")
    redemption_cancel(redemption=Redemption.objects.get(public_id=second["id"]), now=timezone.now())
    return member


def test_the_index_shows_todays_figures_above_the_models(a_day_of_business):
    boss = User.objects.create(username="boss", is_staff=True, is_superuser=True)

    page = client_for(boss).get("/admin/", secure=True).content.decode()

    assert figures_on(page) == {
        "purchases": "1", "issued": "25", "redeemed": "300", "liability": "7.25 EUR", "adjustments": "0",
        "schedules": "0", "jobs": "0",
    }  # fmt: skip
    assert "25.00 EUR" in page and "725 points outstanding" in page
    assert page.index("data-dashboard") < page.rindex("Models in the Rewards application")  # still listed, below


def test_the_figures_cost_a_fixed_number_of_queries(a_day_of_business, api, member_with_points):
    boss = User.objects.create(username="boss", is_staff=True, is_superuser=True)
    with CaptureQueriesContext(connection) as few:
        dashboard_figures(boss, now=timezone.now())
    for n in range(5):
        member = member_with_points(500)
        assert api.post("/api/v1/transactions", purchase(member, external_id=f"o-{n}")).status_code == 201
        redeemed(api, member, "R")

    with CaptureQueriesContext(connection) as many:
        figures = dashboard_figures(boss, now=timezone.now())

    assert len(many) == len(few) <= 8, [q["sql"] for q in many.captured_queries]
    assert {f.key: f.value for f in figures}["purchases"] == "6"


def test_a_job_whose_last_run_failed_is_counted_until_it_succeeds(monkeypatch, program):
    boss = User.objects.create(username="boss", is_staff=True, is_superuser=True)

    def fail(*, now):
        raise RuntimeError("statement timeout")

    monkeypatch.setitem(JOBS, "expire_points", fail)
    with pytest.raises(RuntimeError):
        job_run("expire_points", now=timezone.now())

    assert {f.key: f.value for f in dashboard_figures(boss, now=timezone.now())}["jobs"] == "1"
    monkeypatch.undo()
    job_run("expire_points", now=timezone.now())
    assert {f.key: f.value for f in dashboard_figures(boss, now=timezone.now())}["jobs"] == "0"


def test_staff_see_only_the_figures_of_the_rows_they_may_see(a_day_of_business):
    page = client_for(staff_with("view_transaction")).get("/admin/", secure=True).content.decode()

    assert figures_on(page) == {"purchases": "1"}


def test_a_shops_staff_see_their_shops_purchases_and_nothing_program_wide(a_day_of_business, shop, other_shop):
    clerk = staff_with("view_transaction", "view_account", "view_ledgerentry", username="clerk-b")
    ShopStaff.objects.create(user=clerk, shop=other_shop)

    page = client_for(clerk).get("/admin/", secure=True).content.decode()

    assert figures_on(page) == {"purchases": "0"}  # the day's purchase was at shop A
    assert "Liability" not in page and "Points issued" not in page


def test_today_is_the_programs_calendar_day(settings):
    """In Paris, 29 March 2026 is 23 hours long (the clocks go forward), from 23:00 UTC the day before."""
    settings.TIME_ZONE = "Europe/Paris"

    start, end = day_of(dt.datetime(2026, 3, 29, 12, 0, tzinfo=dt.UTC))

    assert (start, end) == (dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC))


def test_todays_purchases_are_those_of_the_programs_day_not_utcs(settings, api, member):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: most of its day is another UTC date
    start, end = day_of(timezone.now())
    for external_id, at in [("just-before-midnight", start - dt.timedelta(minutes=1)), ("just-after", start)]:
        body = purchase(member, external_id=external_id, occurred_at=at.isoformat())
        assert api.post("/api/v1/transactions", body).status_code == 201

    assert purchases_between(start=start, end=end).count == 1
