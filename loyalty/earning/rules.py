"""The earning pipeline: an ordered list of small rules that each add what they know to a `Calculation`,
then one rounding.

    base_points = floor(Σ eligible line totals × points_per_currency_unit)
    points      = floor(Σ eligible line totals × points_per_currency_unit × M_tier × M_plan
                        × M_campaigns(line)) + Σ fixed campaign bonuses

`breakdown` attributes the points to their sources by applying the multipliers one source at a time and
taking the difference of the floors, so its entries always sum to `points` exactly. Matching campaign
multipliers on a line multiply with each other.
"""

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from loyalty.earning.models import Campaign
from loyalty.program.models import Program


@dataclass(frozen=True)
class Line:
    sku: str
    category: str
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Multiplier:
    """A factor on a member's earning (tier, plan) named for the breakdown."""

    source: str
    factor: Decimal


@dataclass(frozen=True)
class Purchase:
    """What the pipeline knows about a purchase. `tier_code`, `tier` and `plan` are the member's, as in
    force before this purchase."""

    program: Program
    shop_code: str
    occurred_at: dt.datetime
    total: Decimal
    lines: Sequence[Line]
    campaigns: Sequence[Campaign] = ()
    tier_code: str | None = None
    tier: Multiplier | None = None
    plan: Multiplier | None = None


@dataclass
class Calculation:
    eligible: list[Decimal]  # per line
    factors: list[tuple[str, Decimal, frozenset[int]]] = field(default_factory=list)  # source, factor, lines
    bonuses: list[tuple[str, int]] = field(default_factory=list)

    def multiply(self, source: str, factor: Decimal, lines: Sequence[int]) -> None:
        if lines and factor != 1:
            self.factors.append((source, factor, frozenset(lines)))


@dataclass(frozen=True)
class Earning:
    eligible_amount: Decimal
    base_points: int
    points: int
    breakdown: list[dict]


Rule = Callable[[Purchase, Calculation], None]


def tier_multiplier(purchase: Purchase, calc: Calculation) -> None:
    if purchase.tier is not None:
        calc.multiply(purchase.tier.source, purchase.tier.factor, range(len(purchase.lines)))


def plan_multiplier(purchase: Purchase, calc: Calculation) -> None:
    if purchase.plan is not None:
        calc.multiply(purchase.plan.source, purchase.plan.factor, range(len(purchase.lines)))


def campaign_runs(campaign: Campaign, *, at: dt.datetime) -> bool:
    """Whether the campaign is on at `at`: active, and `at` inside its window (start included, end not)."""
    return (
        campaign.active
        and (campaign.starts_at is None or campaign.starts_at <= at)
        and (campaign.ends_at is None or at < campaign.ends_at)
    )


def campaign_applies(campaign: Campaign, purchase: Purchase) -> bool:
    """Whether the campaign runs for this purchase at all (window, shop, tier)."""
    return (
        campaign_runs(campaign, at=purchase.occurred_at)
        and (not campaign.shops or purchase.shop_code in campaign.shops)
        and (not campaign.tiers or purchase.tier_code in campaign.tiers)
    )


def campaign_matches_line(campaign: Campaign, line: Line) -> bool:
    return (not campaign.categories or line.category in campaign.categories) and (
        not campaign.skus or line.sku in campaign.skus
    )


def campaign_multipliers(purchase: Purchase, calc: Calculation) -> None:
    for campaign in purchase.campaigns:
        if campaign.kind == Campaign.Kind.MULTIPLIER and campaign_applies(campaign, purchase):
            lines = [i for i, line in enumerate(purchase.lines) if campaign_matches_line(campaign, line)]
            calc.multiply(f"campaign:{campaign.code}", campaign.multiplier, lines)


def fixed_bonuses(purchase: Purchase, calc: Calculation) -> None:
    for campaign in purchase.campaigns:
        if campaign.kind != Campaign.Kind.FIXED_BONUS or not campaign_applies(campaign, purchase):
            continue
        if campaign.min_total is not None and purchase.total < campaign.min_total:
            continue
        if (campaign.categories or campaign.skus) and not any(
            campaign_matches_line(campaign, line) for line in purchase.lines
        ):
            continue
        calc.bonuses.append((f"campaign:{campaign.code}", campaign.points))


RULES: list[Rule] = [tier_multiplier, plan_multiplier, campaign_multipliers, fixed_bonuses]


def earning_calculate(purchase: Purchase, rules: Sequence[Rule] = RULES) -> Earning:
    """Run the rules, then round once. Excluded categories earn nothing and are not eligible."""
    excluded = set(purchase.program.excluded_categories or ())
    calc = Calculation(eligible=[Decimal(0) if line.category in excluded else line.total for line in purchase.lines])
    for rule in rules:
        rule(purchase, calc)

    rate = purchase.program.points_per_currency_unit
    weights = [amount * rate for amount in calc.eligible]
    base_points = math.floor(sum(weights, Decimal(0)))
    breakdown = [{"source": "base", "points": base_points}]
    floor_so_far = base_points
    for source, factor, lines in calc.factors:
        weights = [w * factor if i in lines else w for i, w in enumerate(weights)]
        floor_now = math.floor(sum(weights, Decimal(0)))
        if floor_now != floor_so_far:
            breakdown.append({"source": source, "points": floor_now - floor_so_far})
        floor_so_far = floor_now
    breakdown += [{"source": source, "points": points} for source, points in calc.bonuses]
    return Earning(
        eligible_amount=sum(calc.eligible, Decimal(0)),
        base_points=base_points,
        points=floor_so_far + sum(points for _, points in calc.bonuses),
        breakdown=breakdown,
    )
