"""Reads about a member's place in the program that span members and the ledger."""

from dataclasses import dataclass

from django.db.models import Sum

from loyalty.ledger.models import LedgerEntry
from members.models import Member

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
