"""Tiers inside the purchase: upgrades, validity, qualifying points, and the member object's tier.

Tiers: bronze from 0 (×1), silver from 500 (×1.5), gold from 2000 (×2); one point per EUR; qualifying
points are base points of purchases in the last 365 days, net of refunds.
"""

import datetime as dt
from decimal import Decimal

import pytest

from loyalty.earning.rules import Line
from loyalty.ledger.models import Account
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop
from loyalty.shops.services import api_key_create
from loyalty.tiers.jobs import recalculate_tiers
from tests.factories import MemberFactory
from tests.support.api import Api
from tests.support.tiers import DAY, MICRO, PROGRAM, T0, TIERS, YEAR, buy, changes, qualifying, refund, tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    program_load({"program": PROGRAM, "tiers": TIERS, "shops": [{"code": "shop-a", "name": "A"}]})
    return Shop.objects.get(code="shop-a")


@pytest.fixture
def member(shop):
    return MemberFactory()


# --- upgrades inside the purchase ---------------------------------------------------------------------


def test_upgrade_happens_at_exactly_the_threshold_inside_the_purchase(shop, member):
    first = buy(shop, member, "499.00", T0)
    assert tier(member) == ("bronze", T0 + YEAR)
    assert (first.points, first.breakdown) == (499, [{"source": "base", "points": 499}])

    lifting = buy(shop, member, "1.00", T0 + DAY)

    assert tier(member) == ("silver", T0 + DAY + YEAR)
    # The purchase that lifted the member earned at bronze (×1).
    assert (lifting.points, lifting.breakdown) == (1, [{"source": "base", "points": 1}])
    assert Account.objects.get(member=member).available == 500
    assert changes(member) == [
        (None, "bronze", "upgrade", 499, T0 + YEAR, T0),
        ("bronze", "silver", "upgrade", 500, T0 + DAY + YEAR, T0 + DAY),
    ]


def test_a_first_purchase_can_jump_straight_to_the_highest_tier_it_reaches(shop, member):
    buy(shop, member, "2500.00", T0)
    assert tier(member) == ("gold", T0 + YEAR)
    assert changes(member) == [(None, "gold", "upgrade", 2500, T0 + YEAR, T0)]


def test_the_purchase_that_lifts_a_member_earns_at_the_old_tier_and_the_next_at_the_new(shop, member):
    buy(shop, member, "499.00", T0)
    buy(shop, member, "1.00", T0 + DAY)  # -> silver
    assert tier(member)[0] == "silver"

    at_silver = buy(shop, member, "100.00", T0 + 2 * DAY)
    assert at_silver.base_points == 100
    assert (at_silver.points, at_silver.breakdown) == (
        150,
        [{"source": "base", "points": 100}, {"source": "tier:silver", "points": 50}],
    )

    lifting = buy(shop, member, "1400.00", T0 + 3 * DAY)  # 500 + 100 + 1400 = 2000 qualifying -> gold
    assert tier(member)[0] == "gold"
    assert (lifting.points, lifting.breakdown) == (
        2100,
        [{"source": "base", "points": 1400}, {"source": "tier:silver", "points": 700}],
    )
    at_gold = buy(shop, member, "10.00", T0 + 4 * DAY)
    assert (at_gold.points, at_gold.breakdown) == (
        20,
        [{"source": "base", "points": 10}, {"source": "tier:gold", "points": 10}],
    )
    assert Account.objects.get(member=member).available == 499 + 1 + 150 + 2100 + 20
    assert [c[:4] for c in changes(member)] == [
        (None, "bronze", "upgrade", 499),
        ("bronze", "silver", "upgrade", 500),
        ("silver", "gold", "upgrade", 2000),
    ]


def test_a_campaign_for_a_tier_applies_to_that_tiers_members(shop, member):
    program_load(
        {
            "campaigns": [
                {"code": "SILVER50", "name": "Silver bonus", "kind": "fixed_bonus", "points": 50, "tiers": ["silver"]}
            ]
        }
    )
    bronze_purchase = buy(shop, member, "499.00", T0)  # a bronze member before it: no bonus
    assert bronze_purchase.points == 499
    buy(shop, member, "1.00", T0 + DAY)  # -> silver; earned as bronze: no bonus
    assert tier(member)[0] == "silver"

    silver_purchase = buy(shop, member, "10.00", T0 + 2 * DAY)

    assert {"source": "campaign:SILVER50", "points": 50} in silver_purchase.breakdown


def test_qualifying_points_are_base_points_of_eligible_lines_only(shop, member):
    buy(shop, member, "600.00", T0)  # silver
    mixed = buy(
        shop, member, "1500.00", T0 + DAY,
        lines=[Line(sku="tv", category="general", quantity=1, unit_price=Decimal("1000.00")),
               Line(sku="gift", category="gift_cards", quantity=1, unit_price=Decimal("500.00"))],
    )  # fmt: skip
    assert (mixed.base_points, qualifying(mixed)) == (1000, 1000)
    assert tier(member)[0] == "silver"  # 1600 < 2000, whatever the silver multiplier earned

    buy(shop, member, "400.00", T0 + 2 * DAY)

    assert tier(member)[0] == "gold"
    assert changes(member)[-1][:4] == ("silver", "gold", "upgrade", 2000)


def test_qualifying_points_count_only_purchases_in_the_window(shop):
    inside, outside = MemberFactory(), MemberFactory()
    buy(shop, inside, "400.00", T0)
    buy(shop, outside, "400.00", T0)

    buy(shop, inside, "100.00", T0 + 364 * DAY)  # 400 still counts: 500
    buy(shop, outside, "100.00", T0 + 366 * DAY)  # 400 is out of the window: 100

    assert tier(inside) == ("silver", T0 + 364 * DAY + YEAR)
    assert changes(inside)[-1][:4] == ("bronze", "silver", "upgrade", 500)
    assert tier(outside)[0] == "bronze"
    assert [c[:4] for c in changes(outside)] == [(None, "bronze", "upgrade", 400)]


def test_a_refund_reduces_qualifying_points_so_a_later_purchase_does_not_requalify(shop, member):
    big = buy(shop, member, "600.00", T0)
    refund(shop, big, "200.00", T0 + DAY)
    assert qualifying(big) == 400
    assert tier(member) == ("silver", T0 + YEAR)  # no downgrade inside the validity

    buy(shop, member, "50.00", T0 + 50 * DAY)  # 450 < 500: the validity is not extended

    assert tier(member) == ("silver", T0 + YEAR)
    assert len(changes(member)) == 1


def test_requalifying_before_valid_until_extends_it(shop, member):
    buy(shop, member, "500.00", T0)
    assert tier(member) == ("silver", T0 + YEAR)

    buy(shop, member, "10.00", T0 + 100 * DAY)  # 510 >= 500: a full window from this purchase

    assert tier(member) == ("silver", T0 + 100 * DAY + YEAR)
    assert [c[:3] for c in changes(member)] == [(None, "silver", "upgrade")]  # no new TierChange
    for at in (T0 + YEAR, T0 + 100 * DAY + YEAR - MICRO):
        assert recalculate_tiers(now=at).counts == {}
        assert tier(member) == ("silver", T0 + 100 * DAY + YEAR)

    run = recalculate_tiers(now=T0 + 100 * DAY + YEAR)

    assert run.counts == {"downgrades": 1}
    assert tier(member) == ("bronze", T0 + 100 * DAY + 2 * YEAR)


# --- the member object -------------------------------------------------------------------------------


def test_the_member_object_shows_the_tier_and_its_validity(shop, member):
    _, key = api_key_create(shop=shop)
    api = Api(key, shop)
    path = f"/api/v1/members/{member.public_id}"
    # No account row yet: the base tier all the same, its validity not yet recorded.
    assert api.get(path).json()["tier"] == {"code": "bronze", "name": "Bronze", "multiplier": "1.0000",
                                            "valid_until": None}  # fmt: skip

    r = api.post(
        "/api/v1/transactions",
        {"member": member.public_id, "external_id": "o-1", "currency": "EUR", "total": "500.00"},
    )
    assert r.status_code == 201, r.content
    occurred = dt.datetime.fromisoformat(r.json()["occurred_at"])
    expected = {"code": "silver", "name": "Silver", "multiplier": "1.5000"}
    assert {key: value for key, value in r.json()["tier"].items() if key != "valid_until"} == expected

    body = api.get(path).json()

    assert {key: value for key, value in body["tier"].items() if key != "valid_until"} == expected
    assert dt.datetime.fromisoformat(body["tier"]["valid_until"]) == occurred + YEAR
    assert dt.datetime.fromisoformat(body["tier"]["valid_until"]) == tier(member)[1]

    # After a downgrade the member object follows.
    recalculate_tiers(now=occurred + YEAR)
    body = api.get(path).json()
    assert body["tier"]["code"] == "bronze"
    assert body["tier"]["multiplier"] == "1.0000"
    assert dt.datetime.fromisoformat(body["tier"]["valid_until"]) == occurred + 2 * YEAR
