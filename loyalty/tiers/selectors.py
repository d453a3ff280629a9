"""Reads of tiers: the ladder (cached with the program's settings) and the tier a member holds."""

from loyalty.ledger.models import Account
from loyalty.program.selectors import settings_cached
from loyalty.tiers.models import Tier


@settings_cached
def tiers_all() -> list[Tier]:
    """Every tier, lowest rank first (cached with the program's settings)."""
    return list(Tier.objects.order_by("rank"))


def tier_by_id(tier_id: int | None) -> Tier | None:
    return next((tier for tier in tiers_all() if tier.pk == tier_id), None) if tier_id else None


def tier_for(points: int, tiers: list[Tier] | None = None) -> Tier | None:
    """The highest tier `points` qualify for, or None when no tier's threshold is reached."""
    reached = [tier for tier in (tiers_all() if tiers is None else tiers) if tier.threshold <= points]
    return max(reached, key=lambda tier: tier.rank, default=None)


def tier_held(account: Account | None) -> Tier | None:
    """The tier a member holds: the account's, and never below the base tier (the highest at threshold 0),
    which every member qualifies for from enrollment on, even before their account records it (a member
    with no account row yet, or one enrolled before the tiers were loaded)."""
    held = tier_by_id(account.tier_id) if account is not None else None
    base = tier_for(0)
    return base if rank_of(base) > rank_of(held) else held


def rank_of(tier: Tier | None) -> int:
    return -1 if tier is None else tier.rank
