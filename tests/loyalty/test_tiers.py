"""Tiers: upgrades inside the purchase, validity, downgrades by `recalculate_tiers`, qualifying points.

Tiers: bronze from 0 (×1), silver from 500 (×1.5), gold from 2000 (×2); one point per EUR; qualifying
points are base points of purchases in the last 365 days, net of refunds.
"""

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from loyalty.earning.models import Transaction
from loyalty.earning.rules import Line
from loyalty.earning.services import refund_create, transaction_create
from loyalty.ledger.models import Account
from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop
from loyalty.shops.services import api_key_create
from loyalty.tiers.jobs import recalculate_tiers
from loyalty.tiers.models import TierChange
from tests.api.conftest import Api
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DAY = dt.timedelta(days=1)
YEAR = 365 * DAY
MICRO = dt.timedelta(microseconds=1)
T0 = dt.datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

PROGRAM = {
    "name": "Tier tests",
    "currency": "EUR",
    "points_per_currency_unit": "1",
    "point_value": "0.01",
    "pending_days": 0,
    "expiry": {"policy": "never"},
    "max_backdate_days": 30,
    "allow_negative_balance": True,
    "tier_window_days": 365,
    "hold_ttl_minutes": 15,
    "excluded_categories": ["gift_cards"],
}
TIERS = [
    {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"},
    {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "1.5"},
    {"code": "gold", "name": "Gold", "threshold": 2000, "multiplier": "2"},
]
_ids = itertools.count(1)


@pytest.fixture
def shop() -> Shop:
    program_load({"program": PROGRAM, "tiers": TIERS, "shops": [{"code": "shop-a", "name": "A"}]})
    return Shop.objects.get(code="shop-a")


@pytest.fixture
def member(shop):
    return MemberFactory()


def buy(shop, member, total: str, at: dt.datetime, lines: list[Line] | None = None) -> Transaction:
    order = f"order-{next(_ids)}"
    purchase = transaction_create(
        shop=shop, member=member, external_id=order, currency="EUR", total=Decimal(total), occurred_at=at,
        lines=lines, fingerprint=order, now=at,
    )  # fmt: skip
    assert purchase.created
    return purchase.transaction


def refund(shop, txn, amount: str, at: dt.datetime) -> None:
    ref = f"refund-{next(_ids)}"
    refund_create(shop=shop, txn=txn, external_id=ref, amount=Decimal(amount), fingerprint=ref, now=at)


def tier(member) -> tuple[str | None, dt.datetime | None]:
    """(tier code, valid_until) of the member's account."""
    account = Account.objects.select_related("tier").get(member=member)
    return (account.tier.code if account.tier else None, account.tier_valid_until)


def changes(member) -> list[tuple]:
    """(from, to, reason, qualifying_points, valid_until, created_at) of the member's TierChanges, oldest first."""
    rows = TierChange.objects.filter(account__member=member).order_by("pk")
    return [
        (
            c.from_tier.code if c.from_tier else None,
            c.to_tier.code if c.to_tier else None,
            c.reason,
            c.qualifying_points,
            c.valid_until,
            c.created_at,
        )
        for c in rows.select_related("from_tier", "to_tier")
    ]


def qualifying(txn: Transaction) -> int:
    return Transaction.objects.values_list("qualifying_points", flat=True).get(pk=txn.pk)


NOTHING = "recalculate_tiers: nothing due"


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


# --- recalculate_tiers ------------------------------------------------------------------------------


def test_no_downgrade_inside_valid_until_even_when_qualifying_points_drop(shop, member):
    big = buy(shop, member, "600.00", T0)
    refund(shop, big, "600.00", T0 + DAY)  # qualifying points 0
    assert qualifying(big) == 0
    before = (tier(member), changes(member))

    for at in (T0 + DAY, T0 + 200 * DAY, T0 + YEAR - MICRO):
        run = recalculate_tiers(now=at)
        assert run.summary() == NOTHING
    assert (
        (tier(member), changes(member))
        == before
        == (
            ("silver", T0 + YEAR),
            [(None, "silver", "upgrade", 600, T0 + YEAR, T0)],
        )
    )


def test_after_valid_until_a_member_moves_down_to_the_highest_tier_still_qualified(shop, member):
    big = buy(shop, member, "2000.00", T0)  # gold until T0 + 1 year
    refund(shop, big, "1500.00", T0 + DAY)  # big now qualifies 500
    buy(shop, member, "600.00", T0 + 10 * DAY)  # 1100 < 2000: no extension
    assert tier(member) == ("gold", T0 + YEAR)
    assert recalculate_tiers(now=T0 + YEAR - MICRO).counts == {}

    run = recalculate_tiers(now=T0 + YEAR)  # `big` has left the window: 600 qualify

    assert run.counts == {"downgrades": 1}
    assert run.summary() == "recalculate_tiers: 1 downgrades (1 accounts in 1 chunks)"
    assert tier(member) == ("silver", T0 + 2 * YEAR)
    assert changes(member)[-1] == ("gold", "silver", "downgrade", 600, T0 + 2 * YEAR, T0 + YEAR)
    assert recalculate_tiers(now=T0 + YEAR).summary() == NOTHING

    # Silver is kept for its own validity even once nothing qualifies any more, then goes too.
    assert recalculate_tiers(now=T0 + 2 * YEAR - MICRO).counts == {}
    assert recalculate_tiers(now=T0 + 2 * YEAR).counts == {"downgrades": 1}
    assert changes(member)[-1] == ("silver", "bronze", "downgrade", 0, T0 + 3 * YEAR, T0 + 2 * YEAR)
    assert [c[2] for c in changes(member)] == ["upgrade", "downgrade", "downgrade"]


def test_the_downgrade_counts_qualifying_points_net_of_refunds(shop):
    refunded, kept = MemberFactory(), MemberFactory()
    for member in (refunded, kept):
        big = buy(shop, member, "2000.00", T0)
        refund(shop, big, "1600.00", T0 + DAY)
        second = buy(shop, member, "600.00", T0 + 100 * DAY)
        if member is refunded:
            refund(shop, second, "200.00", T0 + 101 * DAY)

    run = recalculate_tiers(now=T0 + YEAR)

    assert run.counts == {"downgrades": 2}
    assert changes(refunded)[-1][:4] == ("gold", "bronze", "downgrade", 400)
    assert changes(kept)[-1][:4] == ("gold", "silver", "downgrade", 600)


def test_a_member_who_still_qualifies_when_the_validity_ends_is_renewed(shop, member):
    buy(shop, member, "800.00", T0)
    program_load({"program": {**PROGRAM, "tier_window_days": 730}})  # a longer window from now on

    run = recalculate_tiers(now=T0 + YEAR)

    assert run.counts == {"renewed": 1}
    assert run.summary() == "recalculate_tiers: 1 renewed (1 accounts in 1 chunks)"
    assert tier(member) == ("silver", T0 + YEAR + 730 * DAY)
    assert len(changes(member)) == 1
    assert recalculate_tiers(now=T0 + YEAR).counts == {}


def test_recalculation_upgrades_members_whose_points_reach_a_lowered_threshold(shop):
    silver, no_purchase = MemberFactory(), MemberFactory()
    buy(shop, silver, "1200.00", T0)
    points_credit(member=no_purchase, points=10, now=T0)  # an account, but no tier yet
    no_account = MemberFactory()  # no account at all: the job opens one and places it in the base tier
    program_load({"tiers": [*TIERS[:2], {**TIERS[2], "threshold": 1000}]})

    run = recalculate_tiers(now=T0 + DAY)

    assert run.counts == {"accounts_opened": 1, "upgrades": 3}
    assert (run.accounts, run.chunks) == (3, 1)
    assert tier(silver) == ("gold", T0 + DAY + YEAR)
    assert changes(silver)[-1] == ("silver", "gold", "upgrade", 1200, T0 + DAY + YEAR, T0 + DAY)
    assert changes(no_purchase) == [(None, "bronze", "upgrade", 0, T0 + DAY + YEAR, T0 + DAY)]
    assert changes(no_account) == [(None, "bronze", "upgrade", 0, T0 + DAY + YEAR, T0 + DAY)]
    assert recalculate_tiers(now=T0 + DAY).counts == {}


def test_recalculation_works_through_small_chunks(shop):
    members = [MemberFactory() for _ in range(5)]
    for member in members:
        big = buy(shop, member, "700.00", T0)
        refund(shop, big, "700.00", T0 + DAY)

    run = recalculate_tiers(now=T0 + YEAR, chunk_size=2)

    assert run.counts == {"downgrades": 5}
    assert (run.accounts, run.chunks) == (5, 3)
    assert {tier(member) for member in members} == {("bronze", T0 + 2 * YEAR)}


def test_without_tiers_recalculation_has_nothing_to_do(db, now):
    program_load({"program": PROGRAM})
    points_credit(member=MemberFactory(), points=5, now=now)
    run = recalculate_tiers(now=now)
    assert (run.summary(), run.chunks) == (NOTHING, 0)


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
