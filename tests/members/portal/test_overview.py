"""The overview: balances and their value, tier and progress, the next expiry, the latest entries and the card,
the same figures the API's member shows, in a number of queries that does not grow with the history."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.holds.services import hold_create
from loyalty.ledger.services import points_credit
from loyalty.membership.services import member_enroll_with_account
from loyalty.program.loading import program_load
from loyalty.tiers.models import Tier
from members.models import Member
from tests.support.api import purchase
from tests.support.portal import signed_in
from tests.support.portal_pages import marked, one
from tests.support.rewards import TIERS, tier_give

BUDGET = 7  # session, member, account, qualifying points, next expiry (soonest, then its points), latest entries


@pytest.fixture
def tiers(program):
    program_load({"tiers": TIERS})


def bought(api, member, total: str, order: str):
    response = api.post("/api/v1/transactions", purchase(member, external_id=order, total=total))
    assert response.status_code == 201, response.content
    return response.json()


def test_the_figures_are_the_apis_for_the_same_member(api, ada, tiers, shop):
    bought(api, ada, "442.00", "order-1")
    api.post("/api/v1/holds", {"member": ada.public_id, "points": 42, "external_id": "hold-1"})

    page = signed_in(ada).get("/portal/").content
    shown = api.get(f"/api/v1/members/{ada.public_id}").json()

    assert one(page, "balance-available").number == shown["balance"]["available"] == 400
    assert one(page, "balance-pending").number == shown["balance"]["pending"] == 0
    assert one(page, "balance-held").number == shown["balance"]["held"] == 42
    assert one(page, "balance-value").text == "Worth 4.00 EUR"
    assert one(page, "tier-name").text == shown["tier"]["name"] == "Bronze"
    assert one(page, "tier-progress").text == "58 points to Silver"  # 442 qualifying of Silver's 500
    expiry = dt.datetime.fromisoformat(shown["next_expiry"]["expires_at"])
    assert one(page, "next-expiry").text == f"{shown['next_expiry']['points']} points expire on {expiry:%-d %b %Y}"
    assert shown["next_expiry"]["points"] == 400


def test_the_tier_shows_its_validity_and_the_highest_says_so(api, ada, tiers):
    bought(api, ada, "2500.00", "order-1")

    page = signed_in(ada).get("/portal/").content
    shown = api.get(f"/api/v1/members/{ada.public_id}").json()

    assert one(page, "tier-name").text == shown["tier"]["name"] == "Gold"
    valid_until = dt.datetime.fromisoformat(shown["tier"]["valid_until"])
    assert f"valid until {valid_until:%-d %b %Y}" in page.decode()
    assert one(page, "tier-progress").text == "You hold our highest status."


def test_a_new_member_sees_zeros_the_base_tier_and_no_expiry(ada, tiers):
    page = signed_in(ada).get("/portal/")

    assert page.status_code == 200
    assert "Hello Ada" in page.content.decode()
    assert [one(page.content, t).number for t in ("balance-available", "balance-pending", "balance-held")] == [0, 0, 0]
    assert one(page.content, "tier-name").text == "Bronze"
    assert one(page.content, "tier-progress").text == "500 points to Silver"
    assert one(page.content, "next-expiry").text == "No points due to expire."


def test_the_card_is_its_number_and_a_qr_code_named_for_screen_readers(ada):
    page = signed_in(ada).get("/portal/").content

    assert one(page, "card-number").text == ada.card_number
    code = one(page, "card-code")
    assert code.attrs["role"] == "img" and ada.card_number in code.attrs["aria-label"]
    assert "<svg" in "".join(code.inner) and "viewBox" in "".join(code.inner)


def test_the_latest_five_entries_newest_first_in_words(api, ada, shop, now):
    for n in range(7):
        bought(api, ada, f"{n + 1}.00", f"order-{n}")

    rows = marked(signed_in(ada).get("/portal/").content, "recent-entry")

    assert [row.attrs["data-kind"] for row in rows] == ["earn"] * 5
    assert [row.text.split(" balance")[0] for row in rows][0].startswith("Purchase at Shop A")
    assert "+7" in rows[0].text and "balance 28" in rows[0].text


def test_numbers_and_dates_follow_the_members_language(api, ada, tiers):
    bought(api, ada, "1234.00", "order-1")
    Member.objects.filter(pk=ada.pk).update(locale="de")

    page = signed_in(ada).get("/portal/").content

    assert one(page, "balance-available").text == "1.234"
    assert '<html lang="de">' in page.decode()


def test_a_visitor_is_sent_to_sign_in(visitor, db):
    response = visitor.get("/portal/")

    assert response.status_code == 302 and response["Location"] == "/portal/login"


def _member_with(entries: int, program) -> Member:
    member = member_enroll_with_account(email=f"m{entries}@example.com", first_name="M")
    at = timezone.now() - dt.timedelta(days=1)
    for n in range(entries):
        points_credit(member=member, points=n + 1, now=at, expires_at=at + dt.timedelta(days=400 + n))
    return member


def test_the_query_count_does_not_grow_with_the_history(program, tiers, django_assert_max_num_queries, shop):
    short, long = _member_with(5, program), _member_with(200, program)
    hold_create(member=long, shop=shop, points=10, external_id="h-1", fingerprint="h-1", now=timezone.now())
    counts = []
    for member in (short, long):
        client = signed_in(member)
        client.get("/portal/")  # the session's daily refresh is written on the first visit
        with django_assert_max_num_queries(BUDGET), CaptureQueriesContext(connection) as queries:
            assert client.get("/portal/").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_points_enough_for_the_next_tier_before_the_status_is_updated_say_so(api, ada, tiers):
    bought(api, ada, "600.00", "order-1")
    tier_give(ada, Tier.objects.get(code="bronze"))  # as before the purchase moved it up

    page = signed_in(ada).get("/portal/").content

    assert one(page, "tier-name").text == "Bronze"
    assert one(page, "tier-progress").text == "You have reached Silver: it shows here once your status is next updated."
