"""`recalculate_tiers` (loyalty.tiers.jobs): downgrades after the validity ends, renewals, upgrades to a
lowered threshold.

Tiers: bronze from 0 (×1), silver from 500 (×1.5), gold from 2000 (×2); one point per EUR; qualifying
points are base points of purchases in the last 365 days, net of refunds.
"""

import pytest

from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.shops.models import Shop
from loyalty.tiers.jobs import recalculate_tiers
from tests.factories import MemberFactory
from tests.support.tiers import DAY, MICRO, PROGRAM, T0, TIERS, YEAR, buy, changes, qualifying, refund, tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    program_load({"program": PROGRAM, "tiers": TIERS, "shops": [{"code": "shop-a", "name": "A"}]})
    return Shop.objects.get(code="shop-a")


@pytest.fixture
def member(shop):
    return MemberFactory()


NOTHING = "recalculate_tiers: nothing due"


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
