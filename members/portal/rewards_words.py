"""The catalogue as a member reads it: each reward with the API's eligibility, said in words."""

from dataclasses import dataclass

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loyalty.tiers.selectors import tier_by_id
from rewards.eligibility import Eligibility
from rewards.models import Reward, Voucher

LOW_STOCK = 10


def refusal_words(reason: str | None, *, reward: Reward, available: int) -> str:
    """Why the member may not redeem `reward` now (an eligibility reason, the API's error code), in words."""
    if reason == "insufficient_points":
        missing = reward.points_cost - available
        return ngettext("%(n)s more point", "%(n)s more points", missing) % {"n": intcomma(missing)}
    if reason == "tier_required":
        tier = tier_by_id(reward.min_tier_id)
        return _("Needs %(tier)s") % {"tier": tier.name} if tier else _("Needs a higher status")
    words = {
        "out_of_stock": _("Out of stock"),
        "member_limit_reached": _("Limit reached"),
        "subscription_required": _("For plan members"),
        "reward_unavailable": _("Not available now"),
        "member_inactive": _("Your membership is not active"),
    }
    return words.get(reason or "", _("Not available"))


@dataclass(frozen=True)
class CatalogueItem:
    reward: Reward
    eligibility: Eligibility
    reason: str  # in words, "" when eligible

    @property
    def stock_low(self) -> int | None:
        """What is left when it is little (1 to LOW_STOCK), else None."""
        left = self.reward.stock_remaining
        return left if left is not None and 0 < left <= LOW_STOCK else None


def catalogue_item(reward: Reward, eligibility: Eligibility, *, available: int) -> CatalogueItem:
    reason = "" if eligibility.eligible else refusal_words(eligibility.reason, reward=reward, available=available)
    return CatalogueItem(reward, eligibility, reason)


def voucher_status_words(status: str) -> str:
    return {
        Voucher.Status.ISSUED: _("Ready to use"),
        Voucher.Status.USED: _("Used"),
        Voucher.Status.EXPIRED: _("Expired"),
        Voucher.Status.CANCELLED: _("Cancelled"),
    }.get(status, status)
