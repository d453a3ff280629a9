"""Whether a member may redeem a reward now, and if not, why. The catalogue shows this and redemption
enforces it, so the list never promises what redemption refuses."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from loyalty.errors import DomainError, MemberInactive
from loyalty.ledger.errors import InsufficientPoints
from loyalty.ledger.models import Account
from loyalty.subscriptions.benefits import plan_benefits_hold
from loyalty.tiers.models import Tier
from loyalty.tiers.selectors import rank_of, tier_by_id, tier_for, tier_held
from members.models import Member
from rewards import errors
from rewards.models import Redemption, Reward


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str | None = None  # the API error code that redemption would answer

    def as_dict(self) -> dict:
        return {"eligible": self.eligible, "reason": self.reason}


def reward_available(reward: Reward, now: dt.datetime) -> bool:
    return (
        reward.active
        and (reward.valid_from is None or reward.valid_from <= now)
        and (reward.valid_until is None or now < reward.valid_until)
    )


def redeemed_counts(*, member_id: int, reward_ids: list[int]) -> dict[int, int]:
    """Issued (not cancelled) redemptions per reward for the member: one query."""
    rows = (
        Redemption.objects.filter(member_id=member_id, reward_id__in=reward_ids, status=Redemption.Status.ISSUED)
        .values("reward_id")
        .annotate(n=Count("id"))
        .values_list("reward_id", "n")
    )
    return dict(rows)


def eligibility_of(
    reward: Reward, *, member: Member, account: Account | None, redeemed: int, subscribed: bool, now: dt.datetime
) -> Eligibility:
    """The one rule both the catalogue and `reward_redeem` apply."""
    refusal = refusal_of(reward, member=member, account=account, redeemed=redeemed, subscribed=subscribed, now=now)
    return Eligibility(eligible=refusal is None, reason=refusal.code if refusal else None)


def refusal_of(
    reward: Reward, *, member: Member, account: Account | None, redeemed: int, subscribed: bool, now: dt.datetime
) -> DomainError | None:
    """The first reason, in this order, that the member may not redeem the reward now; None if they may."""
    if not reward_available(reward, now):
        return errors.RewardUnavailable(param="reward")
    if member.status != Member.Status.ACTIVE:
        return MemberInactive(param="member")
    if reward.min_tier_id is not None:
        if rank_of(tier_held(account)) < rank_of(tier_by_id(reward.min_tier_id)):
            return errors.TierRequired(param="reward")
    if reward.subscribers_only and not subscribed:
        return errors.SubscriptionRequired(param="reward")
    if reward.per_member_limit is not None and redeemed >= reward.per_member_limit:
        return errors.MemberLimitReached(param="reward")
    if reward.stock_remaining is not None and reward.stock_remaining <= 0:
        return errors.OutOfStock(param="reward")
    available = account.available if account is not None else 0
    if available < reward.points_cost:
        return InsufficientPoints(available=available, requested=reward.points_cost)
    return None


def catalogue_eligibility(rewards: list[Reward], *, member: Member, now: dt.datetime) -> dict[int, Eligibility]:
    """Eligibility of every listed reward for one member, in a fixed number of queries."""
    account = Account.objects.filter(member=member).first()
    counts = redeemed_counts(member_id=member.pk, reward_ids=[reward.pk for reward in rewards])
    subscribed = plan_benefits_hold(account, now=now)
    return {
        reward.pk: eligibility_of(
            reward, member=member, account=account, redeemed=counts.get(reward.pk, 0), subscribed=subscribed, now=now
        )
        for reward in rewards
    }


@dataclass(frozen=True)
class EligibleMembers:
    """How many active members the reward's own rules let redeem it now (tier, paid plan, per-member limit),
    and how many of those also have the points. Availability and stock are the reward's, shown beside."""

    members: int
    with_points: int


def reward_eligible_members(*, reward: Reward, now: dt.datetime) -> EligibleMembers:
    """`refusal_of`'s member-side rules as one aggregate over the members (plus the cached tier ladder)."""
    rules = Q(status=Member.Status.ACTIVE)
    required = tier_by_id(reward.min_tier_id)
    if required is not None and rank_of(tier_for(0)) < required.rank:  # the base tier does not reach it
        rules &= Q(account__tier__in=Tier.objects.filter(rank__gte=required.rank))
    if reward.subscribers_only:
        rules &= Q(account__plan__isnull=False, account__plan_benefits_until__gt=now)
    if reward.per_member_limit is not None:
        redeemed = (
            Redemption.objects.filter(member=OuterRef("pk"), reward=reward, status=Redemption.Status.ISSUED)
            .values("member")
            .annotate(n=Count("id"))
            .values("n")
        )
        rules &= Q(redeemed__lt=reward.per_member_limit)
        members = Member.objects.annotate(redeemed=Coalesce(Subquery(redeemed, output_field=IntegerField()), Value(0)))
    else:
        members = Member.objects.all()
    counts = members.filter(rules).aggregate(
        members=Count("pk"), with_points=Count("pk", filter=Q(account__available__gte=reward.points_cost))
    )
    return EligibleMembers(members=counts["members"], with_points=counts["with_points"])
