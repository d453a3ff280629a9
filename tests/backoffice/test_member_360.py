"""The member page shows everything a support agent needs on one screen, in the same number of queries
whatever the member's history."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import localtime

from loyalty.program.loading import program_load
from members.services import member_update
from tests.support.api import purchase
from tests.support.subscriptions import pay, subscribe
from tests.support.tiers import TIERS


@pytest.fixture
def tiers(program) -> None:
    program_load({"tiers": TIERS})


def page_of(client, member) -> str:
    response = client.get(f"/admin/members/member/{member.pk}/change/", secure=True)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_page_shows_balance_value_tier_progress_expiry_and_the_last_entries(staff, api, member, tiers):
    assert api.post("/api/v1/transactions", purchase(member, external_id="order-7", total="120.00")).status_code == 201

    page = page_of(staff, member)

    balance = page[page.index('id="m360-balance"') :]
    assert 'Available</dt><dd class="m360-big">120</dd>' in balance
    assert "Worth</dt><dd>1.20 EUR</dd>" in balance  # 120 points at 0.01
    tier = page[page.index('id="m360-tier"') :]
    assert "Bronze" in tier and "120 of 500 qualifying points: 380 to go." in tier
    assert "Next expiry: <strong>120</strong> points on 2" in page  # rolling 24 months
    txn = member.transactions.get()
    assert "purchase order-7" in page and ">shop-a<" in page
    assert f'href="/admin/loyalty/transaction/{txn.pk}/change/">{txn.public_id}</a>' in page
    assert f'href="/admin/loyalty/ledgerentry/?account__id__exact={member.account.pk}">Full ledger</a>' in page
    for changelist in ("loyalty/transaction", "rewards/redemption", "rewards/voucher", "loyalty/hold",
                       "loyalty/subscription", "loyalty/adjustment"):  # fmt: skip
        assert f'href="/admin/{changelist}/?member__id__exact={member.pk}"' in page


def test_a_member_without_an_account_yet_shows_zero_and_the_base_tier(staff, member, tiers):
    page = page_of(staff, member)

    assert 'Available</dt><dd class="m360-big">0</dd>' in page and "Worth</dt><dd>0.00 EUR</dd>" in page
    assert "Bronze" in page and "No ledger entries yet." in page and "No subscription." in page


def test_the_subscription_shows_its_plan_status_and_period_end(staff, member, shop, plus, now):
    subscription = subscribe(shop, member, plus, now)
    pay(shop, subscription, "pay-1", now)
    subscription.refresh_from_db()

    page = page_of(staff, member)

    panel = page[page.index('id="m360-subscription"') :]
    assert plus.name in panel and subscription.status in panel.lower()
    assert f"period ends {localtime(subscription.current_period_end):%-d %b %Y}" in panel


def test_every_linked_list_opens_filtered_by_the_member(staff, api, member):
    api.post("/api/v1/transactions", purchase(member))
    page = page_of(staff, member)

    for url in re.findall(r'href="(/admin/[a-z]+/[a-z]+/\?[a-z_]+=\d+)"', page):
        response = staff.get(url.replace("&amp;", "&"), secure=True)
        assert response.status_code == 200 and "?e=1" not in response.get("Location", ""), url


def test_the_page_costs_the_same_queries_with_three_entries_as_with_thirty(staff, api, member, tiers):
    def purchases(count: int, start: int) -> None:
        for number in range(start, start + count):
            assert api.post("/api/v1/transactions", purchase(member, external_id=f"o-{number}")).status_code == 201

    purchases(3, 0)
    page_of(staff, member)  # the program and tiers are read once per process, then cached
    with CaptureQueriesContext(connection) as few:
        page_of(staff, member)
    purchases(27, 3)
    with CaptureQueriesContext(connection) as many:
        page = page_of(staff, member)

    assert len(many) == len(few) <= 15  # 12 today: session, user, member, one per block, none per entry
    assert page.count("purchase o-") == 10  # the last ten, newest first
    assert page.index("purchase o-29") < page.index("purchase o-20")


def test_consent_shows_since_when(staff, member, now):
    member_update(member=member, marketing_consent=True, now=now)

    panel = page_of(staff, member)
    panel = panel[panel.index('id="m360-member"') :]

    assert "consented" in panel and f"<dt>Consent given</dt><dd>{localtime(now):%-d %b %Y %H:%M}</dd>" in panel
    assert "<dt>Consent withdrawn</dt><dd>–</dd>" in panel
