"""The earning pipeline on its own (loyalty.earning.rules): docs/API.md's formula, worked examples and a
property checked against an independent computation in exact fractions."""

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.earning.models import Campaign
from loyalty.earning.rules import Line, Multiplier, Purchase, earning_calculate
from loyalty.program.models import Program

AT = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


def program(rate: str = "1", excluded: tuple[str, ...] = ("gift_cards",)) -> Program:
    return Program(points_per_currency_unit=Decimal(rate), excluded_categories=list(excluded))


def multiplier(code: str, factor: str, **filters) -> Campaign:
    return Campaign(code=code, name=code, kind="multiplier", multiplier=Decimal(factor), **filters)


def bonus(code: str, points: int, **filters) -> Campaign:
    return Campaign(code=code, name=code, kind="fixed_bonus", points=points, **filters)


def earn(lines, *, rate="1", campaigns=(), tier=None, plan=None, tier_code=None, shop="shop-a", at=AT):
    return earning_calculate(
        Purchase(
            program=program(rate),
            shop_code=shop,
            occurred_at=at,
            total=sum((line.total for line in lines), Decimal(0)),
            lines=lines,
            campaigns=campaigns,
            tier_code=tier_code,
            tier=tier,
            plan=plan,
        )
    )


def ln(price: str, category: str = "general", sku: str = "sku", quantity: int = 1) -> Line:
    return Line(sku=sku, category=category, quantity=quantity, unit_price=Decimal(price))


# --- worked examples ---------------------------------------------------------------------------------


def test_base_points_round_down_the_eligible_total_times_the_rate():
    result = earn([ln("10.99", quantity=2), ln("3.50", category="gift_cards")], rate="1.5")

    # eligible 21.98 x 1.5 = 32.97
    assert (result.eligible_amount, result.base_points, result.points) == (Decimal("21.98"), 32, 32)
    assert result.breakdown == [{"source": "base", "points": 32}]


def test_multipliers_apply_before_the_one_rounding():
    # 0.60 x 1 = 0.6 -> 0 base points; x tier 1.5 x plan 2 = 1.8 -> 1 point
    result = earn([ln("0.60")], tier=Multiplier("tier:gold", Decimal("1.5")), plan=Multiplier("plan:plus", Decimal(2)))

    assert (result.base_points, result.points) == (0, 1)
    assert result.breakdown == [{"source": "base", "points": 0}, {"source": "plan:plus", "points": 1}]


def test_tier_plan_and_campaign_multiply_per_line_and_the_breakdown_sums_to_points():
    lines = [ln("10.00", category="books"), ln("5.25", category="food"), ln("20.00", category="gift_cards")]
    result = earn(
        lines,
        tier=Multiplier("tier:silver", Decimal("1.25")),
        plan=Multiplier("plan:plus", Decimal(2)),
        campaigns=[multiplier("BOOKS3X", "3", categories=["books"])],
    )

    # books 10.00 x 1.25 x 2 x 3 = 75, food 5.25 x 1.25 x 2 = 13.125 -> 88; base floor(15.25) = 15
    assert (result.eligible_amount, result.base_points, result.points) == (Decimal("15.25"), 15, 88)
    assert result.breakdown == [
        {"source": "base", "points": 15},
        {"source": "tier:silver", "points": 4},  # floor(19.0625) - 15
        {"source": "plan:plus", "points": 19},  # floor(38.125) - 19
        {"source": "campaign:BOOKS3X", "points": 50},  # floor(88.125) - 38
    ]


def test_matching_campaign_multipliers_on_one_line_multiply_with_each_other():
    campaigns = [multiplier("A2X", "2", categories=["books"]), multiplier("B3X", "3", skus=["isbn-1"])]

    both, books_only = ln("1.00", category="books", sku="isbn-1"), ln("1.00", category="books", sku="isbn-2")

    result = earn([both, books_only], campaigns=campaigns)

    assert result.points == 6 + 2


@pytest.mark.parametrize(
    ("campaign", "applies"),
    [
        (multiplier("X", "2"), True),
        (multiplier("X", "2", active=False), False),
        (multiplier("X", "2", starts_at=AT), True),
        (multiplier("X", "2", starts_at=AT + dt.timedelta(seconds=1)), False),
        (multiplier("X", "2", ends_at=AT), False),
        (multiplier("X", "2", ends_at=AT + dt.timedelta(seconds=1)), True),
        (multiplier("X", "2", shops=["shop-a"]), True),
        (multiplier("X", "2", shops=["shop-b"]), False),
        (multiplier("X", "2", tiers=["gold"]), True),
        (multiplier("X", "2", tiers=["silver"]), False),
        (multiplier("X", "2", categories=["food"]), False),
        (multiplier("X", "2", skus=["sku"]), True),
    ],
)
def test_a_campaign_applies_within_its_window_shops_tiers_and_lines(campaign, applies):
    result = earn([ln("10.00", category="books")], campaigns=[campaign], tier_code="gold")

    assert result.points == (20 if applies else 10)


@pytest.mark.parametrize(
    ("campaign", "points"),
    [
        (bonus("B", 50), 60),
        (bonus("B", 50, min_total=Decimal("10.00")), 60),
        (bonus("B", 50, min_total=Decimal("10.01")), 10),
        (bonus("B", 50, categories=["books"]), 60),
        (bonus("B", 50, categories=["food"]), 10),
        (bonus("B", 50, active=False), 10),
    ],
)
def test_a_fixed_bonus_is_added_once_per_matching_purchase(campaign, points):
    result = earn([ln("4.00", category="books"), ln("6.00", category="books")], campaigns=[campaign])

    assert result.points == points
    if points == 60:
        assert result.breakdown == [{"source": "base", "points": 10}, {"source": "campaign:B", "points": 50}]


def test_a_fixed_bonus_counts_the_whole_total_but_earns_even_when_nothing_is_eligible():
    result = earn([ln("60.00", category="gift_cards")], campaigns=[bonus("BIG", 100, min_total=Decimal("50.00"))])

    assert (result.eligible_amount, result.base_points, result.points) == (Decimal(0), 0, 100)


# --- property: the formula, computed independently ---------------------------------------------------

CATEGORIES = ["books", "food", "gift_cards", ""]
SKUS = ["a", "b", "c"]
FACTORS = ["0.5", "1", "1.1", "1.25", "1.5", "2", "3", "2.3333"]

lines_st = st.lists(
    st.builds(
        Line,
        sku=st.sampled_from(SKUS),
        category=st.sampled_from(CATEGORIES),
        quantity=st.integers(min_value=1, max_value=100_000),
        unit_price=st.integers(min_value=0, max_value=1_000_000).map(lambda cents: Decimal(cents).scaleb(-2)),
    ),
    min_size=1,
    max_size=8,
)
subset = st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True)
sku_subset = st.lists(st.sampled_from(SKUS), max_size=2, unique=True)
window = st.sampled_from([(None, None), (AT, None), (None, AT), (AT - dt.timedelta(days=1), AT + dt.timedelta(days=1))])
filters = st.fixed_dictionaries(
    {
        "categories": subset,
        "skus": sku_subset,
        "shops": st.sampled_from([[], ["shop-a"], ["shop-b"]]),
        "tiers": st.sampled_from([[], ["gold"], ["silver"]]),
        "active": st.booleans(),
        "window": window,
    }
)
multiplier_st = st.builds(
    lambda code, factor, f: multiplier(code, factor, **_filters(f)),
    st.sampled_from(["M1", "M2", "M3"]),
    st.sampled_from(FACTORS),
    filters,
)
bonus_st = st.builds(
    lambda code, points, min_total, f: bonus(code, points, min_total=min_total, **_filters(f)),
    st.sampled_from(["B1", "B2"]),
    st.integers(min_value=1, max_value=1000),
    st.none() | st.integers(min_value=0, max_value=10_000_000).map(lambda cents: Decimal(cents).scaleb(-2)),
    filters,
)
member_multiplier = st.none() | st.sampled_from(FACTORS).map(Decimal)


def _filters(f: dict) -> dict:
    starts_at, ends_at = f["window"]
    return {k: v for k, v in f.items() if k != "window"} | {"starts_at": starts_at, "ends_at": ends_at}


def _applies(c: Campaign, shop: str, tier_code: str | None) -> bool:
    return (
        c.active
        and (c.starts_at is None or c.starts_at <= AT)
        and (c.ends_at is None or AT < c.ends_at)
        and (not c.shops or shop in c.shops)
        and (not c.tiers or tier_code in c.tiers)
    )


def _matches(c: Campaign, line: Line) -> bool:
    return (not c.categories or line.category in c.categories) and (not c.skus or line.sku in c.skus)


@given(
    lines=lines_st,
    rate=st.sampled_from(["0", "0.01", "0.5", "1", "1.5", "2", "3.3333"]),
    tier=member_multiplier,
    plan=member_multiplier,
    tier_code=st.sampled_from([None, "gold", "silver"]),
    shop=st.sampled_from(["shop-a", "shop-b"]),
    campaigns=st.lists(multiplier_st | bonus_st, max_size=4),
)
def test_points_are_the_floor_of_the_exact_product_plus_bonuses_and_the_breakdown_sums_to_them(
    lines, rate, tier, plan, tier_code, shop, campaigns
):
    total = sum((line.total for line in lines), Decimal(0))
    result = earning_calculate(
        Purchase(
            program=program(rate),
            shop_code=shop,
            occurred_at=AT,
            total=total,
            lines=lines,
            campaigns=campaigns,
            tier_code=tier_code,
            tier=Multiplier("tier:x", tier) if tier is not None else None,
            plan=Multiplier("plan:x", plan) if plan is not None else None,
        )
    )

    running = [c for c in campaigns if _applies(c, shop, tier_code)]
    member_factor = Fraction(tier if tier is not None else 1) * Fraction(plan if plan is not None else 1)
    weighted, eligible_total = Fraction(0), Fraction(0)
    for line in lines:
        eligible = Fraction(0) if line.category == "gift_cards" else Fraction(line.quantity) * Fraction(line.unit_price)
        eligible_total += eligible
        factor = member_factor * math.prod(
            (Fraction(c.multiplier) for c in running if c.kind == "multiplier" and _matches(c, line)), start=Fraction(1)
        )
        weighted += eligible * Fraction(rate) * factor
    bonuses = sum(
        c.points
        for c in running
        if c.kind == "fixed_bonus"
        and (c.min_total is None or Fraction(total) >= Fraction(c.min_total))
        and (not (c.categories or c.skus) or any(_matches(c, line) for line in lines))
    )

    assert result.eligible_amount == eligible_total
    assert result.base_points == math.floor(eligible_total * Fraction(rate))
    assert result.points == math.floor(weighted) + bonuses
    assert sum(part["points"] for part in result.breakdown) == result.points
    assert result.breakdown[0] == {"source": "base", "points": result.base_points}
    assert all(part["points"] != 0 for part in result.breakdown[1:])
