"""Tiers: which a member holds, upgrades at checkout, and the validity that protects them from downgrade.

Qualifying points are the base points of purchases in the last `tier_window_days`, net of refunds; the
caller counts them (`loyalty.earning.selectors.qualifying_points`). A member is upgraded inside the purchase
that lifts them (the purchase itself earns at the old tier); re-qualifying for the tier they hold extends its
validity to a full window from now. Downgrades happen only in `recalculate_tiers`, once the validity has
passed.
"""

import datetime as dt
from dataclasses import dataclass

from loyalty.db import service_atomic
from loyalty.ledger.entries import account_save
from loyalty.ledger.locking import account_lock, member_id_of
from loyalty.ledger.models import Account
from loyalty.program.models import Program
from loyalty.program.selectors import program_get
from loyalty.tiers.models import Tier, TierChange
from loyalty.tiers.selectors import rank_of, tier_by_id, tier_for, tiers_all
from members.models import Member


def window_start(program: Program, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=program.tier_window_days)


@dataclass(frozen=True)
class TierMove:
    from_tier: Tier | None
    to_tier: Tier | None
    reason: str


def account_tier_after_purchase(
    account: Account, *, qualifying: int, program: Program, now: dt.datetime
) -> TierMove | None:
    """Upgrade the locked account in memory if `qualifying` reaches a higher tier, or extend the validity
    of the tier it holds when it re-qualifies. Never downgrades. The caller saves the account."""
    if not tiers_all():
        return None
    current = tier_by_id(account.tier_id)
    best = tier_for(qualifying)
    valid_until = now + dt.timedelta(days=program.tier_window_days)
    if rank_of(best) > rank_of(current):
        account.tier, account.tier_valid_until = best, valid_until
        return TierMove(current, best, TierChange.Reason.UPGRADE)
    if current is not None and qualifying >= current.threshold:
        account.tier_valid_until = max(account.tier_valid_until or valid_until, valid_until)
    return None


def tier_change_record(account: Account, move: TierMove, *, qualifying: int, now: dt.datetime) -> TierChange:
    return TierChange.objects.create(
        account=account, from_tier=move.from_tier, to_tier=move.to_tier, reason=move.reason,
        qualifying_points=qualifying, valid_until=account.tier_valid_until, created_at=now,
    )  # fmt: skip


@service_atomic
def account_open(*, member: Member, now: dt.datetime) -> Account:
    """Open a new member's account (if it is not open yet) in the base tier (the highest at threshold 0: a member
    just enrolled has no qualifying points), recorded as a TierChange. Raises MemberNotFound."""
    account = account_lock(member_id=member_id_of(member))
    if account.tier_id is None and tiers_all():
        move = account_tier_after_purchase(account, qualifying=0, program=program_get(), now=now)
        if move is not None:
            account_save(account)
            tier_change_record(account, move, qualifying=0, now=now)
    return account
