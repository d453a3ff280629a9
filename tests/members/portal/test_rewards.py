"""The catalogue and redeeming: eligibility exactly as `GET /api/v1/rewards?member=` computes it, the reason in
words, a confirmation step, the same `reward_redeem` the API calls (no shop), a refusal that writes nothing, and
a form that redeems once however often it is sent."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.ledger.services import points_credit
from loyalty.membership.services import member_enroll_with_account
from loyalty.program.loading import program_load
from members.models import Member, RedeemRequest
from rewards.models import Redemption, Voucher
from tests.support.api import balance
from tests.support.portal import signed_in
from tests.support.portal_pages import marked, one
from tests.support.rewards import TIERS, redeemed, reward_item, world

BUDGET = 6  # session, member, rewards, account (eligibility), redeemed counts, account (points to go)

CATALOGUE = [
    reward_item("COFFEE", name="Free coffee", points_cost=300, stock=None, sort_order=1),
    reward_item("CAKE", name="Cake", points_cost=600, stock=None, sort_order=2),
    reward_item("LOUNGE", name="Lounge", points_cost=100, stock=None, min_tier="gold", sort_order=3),
    reward_item("GONE", name="Sold out", points_cost=100, stock=0, sort_order=4),
    reward_item("ONCE", name="Once only", points_cost=100, stock=None, per_member_limit=1, sort_order=5),
    reward_item("PLUS", name="Plan perk", points_cost=100, stock=None, subscribers_only=True, sort_order=6),
    reward_item("FEW", name="Last few", points_cost=100, stock=3, sort_order=7),
    reward_item("TENOFF", name="10 off", kind="voucher_amount", value="10.00", points_cost=100, stock=None,
                sort_order=8),
    reward_item("OFF", name="Retired", points_cost=100, stock=None, active=False, sort_order=9),
]  # fmt: skip


@pytest.fixture
def catalogue(program):
    program_load({"tiers": TIERS, "rewards": CATALOGUE})


@pytest.fixture
def funded(ada, catalogue, api):
    """Ada with 450 points after redeeming ONCE (her limit of one reached)."""
    points_credit(member=ada, points=550, now=timezone.now())
    redeemed(api, ada, "ONCE")
    return ada


def listed(page) -> dict[str, tuple[bool, str]]:
    """code → (eligible, what the page says about it) for each reward of the catalogue page."""
    return {row.attrs["data-code"]: (row.attrs["data-eligible"] == "true", row.text) for row in marked(page, "reward")}


def test_eligibility_is_the_apis_and_the_reasons_are_in_words(funded, api):
    page = signed_in(funded).get("/portal/rewards").content
    answer = api.get("/api/v1/rewards", {"member": funded.public_id}).json()["results"]

    shown = listed(page)
    assert list(shown) == [reward["code"] for reward in answer]  # the same rewards, in the same order
    assert {code: eligible for code, (eligible, _) in shown.items()} == {
        reward["code"]: reward["eligibility"]["eligible"] for reward in answer
    }
    reasons = {code: one_reason(page, code) for code, (eligible, _) in shown.items() if not eligible}
    assert reasons == {
        "CAKE": "150 more points",
        "LOUNGE": "Needs Gold",
        "GONE": "Out of stock",
        "ONCE": "Limit reached",
        "PLUS": "For plan members",
    }
    assert "Only 3 left" in shown["FEW"][1] and "left" not in shown["COFFEE"][1]
    assert "10.00 EUR off" in shown["TENOFF"][1] and "450 points to spend" in page.decode()


def one_reason(page, code: str) -> str:
    (row,) = [row for row in marked(page, "reward") if row.attrs["data-code"] == code]
    return marked("".join(row.inner), "reward-reason")[0].text


def test_a_reward_page_leads_to_a_confirmation_with_a_one_time_form(funded):
    portal = signed_in(funded)

    page = portal.get("/portal/rewards/COFFEE").content
    button = one(page, "redeem-button")
    confirm = portal.get(button.attrs["href"]).content
    again = portal.get(button.attrs["href"]).content

    assert button.attrs["href"] == "/portal/rewards/COFFEE/redeem"
    assert one(confirm, "confirm").text == "Spend 300 points"
    assert one(confirm, "points-after").number == 150
    assert token_of(confirm) != token_of(again)  # each showing of the form is its own
    assert balance(funded) == (450, 0, 0) and not Voucher.objects.filter(reward__code="COFFEE").exists()


def token_of(page: bytes) -> str:
    return re.search(r'name="token" value="([^"]+)"', page.decode())[1]


def confirmed(portal: Client, code: str):
    token = token_of(portal.get(f"/portal/rewards/{code}/redeem").content)
    return portal.post(f"/portal/rewards/{code}/redeem", {"token": token}, follow=True), token


def test_confirming_redeems_through_the_same_service_and_shows_the_voucher(funded, api):
    response, _ = confirmed(signed_in(funded), "COFFEE")

    voucher = Voucher.objects.select_related("redemption").get(reward__code="COFFEE")
    assert response.redirect_chain == [(f"/portal/vouchers/{voucher.code}", 302)]
    assert one(response.content, "voucher-code").text == voucher.code
    assert "Done: here is your voucher for Free coffee." in response.content.decode()
    assert voucher.member_id == funded.pk and voucher.redemption.shop_id is None
    assert balance(funded) == (150, 0, 0)
    assert api.get(f"/api/v1/members/{funded.public_id}").json()["balance"]["available"] == 150


@pytest.mark.parametrize(("code", "reason"), [("CAKE", "150 more points"), ("LOUNGE", "Needs Gold"),
                                              ("GONE", "Out of stock"), ("ONCE", "Limit reached"),
                                              ("PLUS", "For plan members")])  # fmt: skip
def test_a_refusal_says_why_in_words_and_writes_nothing(funded, code, reason):
    before = world()
    requests = RedeemRequest.objects.count()

    response = signed_in(funded).post(f"/portal/rewards/{code}/redeem", {"token": "t" * 32})

    assert response.status_code == 409
    assert one(response.content, "redeem-refused").text == f"Not redeemed: {reason}. No points were taken."
    assert world() == before and RedeemRequest.objects.count() == requests


def test_an_unavailable_reward_offers_no_confirmation(funded):
    portal = signed_in(funded)

    page = portal.get("/portal/rewards/CAKE").content
    confirm = portal.get("/portal/rewards/CAKE/redeem").content

    assert one(page, "redeem-button").attrs.get("disabled") is not None
    assert one(page, "reward-reason").text == "150 more points"
    assert not marked(confirm, "confirm") and "150 more points" in one(confirm, "redeem-refused").text


def test_the_same_form_sent_twice_redeems_once_and_shows_the_same_voucher(funded):
    portal = signed_in(funded)
    token = token_of(portal.get("/portal/rewards/COFFEE/redeem").content)

    first = portal.post("/portal/rewards/COFFEE/redeem", {"token": token})
    second = portal.post("/portal/rewards/COFFEE/redeem", {"token": token})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Redemption.objects.filter(member=funded, reward__code="COFFEE").count() == 1
    assert balance(funded) == (150, 0, 0)


def test_a_new_form_redeems_again(funded):
    portal = signed_in(funded)

    confirmed(portal, "FEW")
    confirmed(portal, "FEW")

    assert Redemption.objects.filter(member=funded, reward__code="FEW").count() == 2


def test_another_members_token_does_not_replay_their_redemption(funded, program):
    bob = member_enroll_with_account(email="bob@example.com", first_name="Bob")
    points_credit(member=bob, points=1000, now=timezone.now())
    _, token = confirmed(signed_in(funded), "COFFEE")

    response = signed_in(bob).post("/portal/rewards/COFFEE/redeem", {"token": token})

    assert response.status_code == 302
    assert Redemption.objects.filter(reward__code="COFFEE").values_list("member_id", flat=True).count() == 2
    assert balance(bob) == (700, 0, 0)


def test_a_form_without_its_token_is_refused(funded):
    before = world()

    response = signed_in(funded).post("/portal/rewards/COFFEE/redeem", {})
    tampered = signed_in(funded).post("/portal/rewards/COFFEE/redeem", {"token": "bad"})

    assert response.status_code == tampered.status_code == 400 and world() == before
    page = tampered.content.decode()  # the reward's page again, saying why, in the portal's look
    assert "This form has expired" in page and 'data-testid="redeem-button"' in page and "<html" in page


def test_unknown_and_retired_rewards_are_404(funded):
    portal = signed_in(funded)

    assert portal.get("/portal/rewards/NOPE").status_code == 404
    assert portal.get("/portal/rewards/OFF").status_code == 404
    assert portal.post("/portal/rewards/OFF/redeem", {"token": "t" * 32}).status_code == 404


def test_a_donation_thanks_the_member_and_issues_no_voucher(ada, program):
    program_load({"rewards": [reward_item("TREES", name="Plant a tree", kind="donation", stock=None)]})
    points_credit(member=ada, points=300, now=timezone.now())

    response, _ = confirmed(signed_in(ada), "TREES")

    assert response.redirect_chain == [("/portal/rewards/TREES", 302)]
    assert "Thank you" in response.content.decode()
    assert Redemption.objects.filter(member=ada).count() == 1 and not Voucher.objects.exists()


def test_numbers_follow_the_members_language(funded):
    points_credit(member=funded, points=1000, now=timezone.now())
    Member.objects.filter(pk=funded.pk).update(locale="de")

    page = signed_in(funded).get("/portal/rewards").content.decode()

    assert '<html lang="de">' in page and "1.450" in page and "3,50\N{NO-BREAK SPACE}EUR" in page


def test_the_catalogue_query_count_does_not_grow_with_the_history(catalogue, django_assert_max_num_queries):
    counts = []
    for entries in (5, 200):
        member = member_enroll_with_account(email=f"m{entries}@example.com", first_name="M")
        for n in range(entries):
            points_credit(member=member, points=n + 1, now=timezone.now())
        client = signed_in(member)
        client.get("/portal/rewards")  # the session's daily refresh is written on the first visit
        with django_assert_max_num_queries(BUDGET), CaptureQueriesContext(connection) as queries:
            assert client.get("/portal/rewards").status_code == 200
        with django_assert_max_num_queries(BUDGET):
            assert client.get("/portal/rewards/COFFEE").status_code == 200
        with django_assert_max_num_queries(BUDGET):
            assert client.get("/portal/rewards/COFFEE/redeem").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
