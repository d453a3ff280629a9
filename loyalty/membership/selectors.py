"""Reads of a member's place in the program that several faces show alike (the admin's member page, the
portal): the tier held, until when, and how far the next one is; what their referrals brought."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum

from loyalty.earning.selectors import qualifying_points
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.program.models import Program
from loyalty.tiers.models import Tier
from loyalty.tiers.selectors import rank_of, tier_held, tiers_all
from loyalty.tiers.services import window_start
from members.models import Member


@dataclass(frozen=True)
class TierStanding:
    """The tier held (the base tier at least, as the API's member shows it), until when, and how far the
    member is from the next one."""

    tier: Tier | None
    valid_until: dt.datetime | None
    qualifying: int
    next_tier: Tier | None

    @property
    def points_to_next(self) -> int | None:
        return None if self.next_tier is None else max(self.next_tier.threshold - self.qualifying, 0)

    @property
    def progress_percent(self) -> int:
        if self.next_tier is None or self.next_tier.threshold <= 0:
            return 100
        return min(100, self.qualifying * 100 // self.next_tier.threshold)


def tier_standing_of(*, member: Member, account: Account | None, program: Program, now: dt.datetime) -> TierStanding:
    """The member's standing at `now`: the tier and validity the API shows (`tier_held`, `valid_until` once the
    account records that tier), the qualifying points of the tier window and the next tier up. One query (the
    qualifying points; none without tiers), the ladder coming from the settings cache."""
    tiers = tiers_all()
    held = tier_held(account)
    recorded = account is not None and held is not None and account.tier_id == held.pk
    higher = [tier for tier in tiers if tier.rank > rank_of(held)]
    next_tier = min(higher, key=lambda tier: tier.rank, default=None)
    qualifying = qualifying_points(member_id=member.pk, since=window_start(program, now)) if tiers else 0
    return TierStanding(
        tier=held, valid_until=account.tier_valid_until if recorded else None, qualifying=qualifying,
        next_tier=next_tier,
    )  # fmt: skip


# A referral bonus is a ledger entry of kind `bonus` whose reference is `referral:<the referred member's
# public id>`, credited to the member who referred them (ENGAGEMENT.md, "referral").
REFERRAL_REFERENCE_PREFIX = "referral:"


@dataclass(frozen=True)
class ReferralSummary:
    friends_joined: int
    points_earned: int


def referral_summary_of(member: Member) -> ReferralSummary:
    """How many members joined with `member`'s referral code, and the referral bonus points `member` got for
    them. Two queries, however many friends."""
    joined = Member.objects.filter(referred_by=member).count()
    earned = LedgerEntry.objects.filter(
        account__member=member, kind=LedgerEntry.Kind.BONUS, reference__startswith=REFERRAL_REFERENCE_PREFIX
    ).aggregate(points=Sum("points"))["points"]
    return ReferralSummary(friends_joined=joined, points_earned=earned or 0)
