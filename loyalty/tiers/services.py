"""Tiers: which a member holds, upgrades at checkout, and the validity that protects them from downgrade.

Qualifying points are the base points of purchases in the last `tier_window_days`, net of refunds; the
caller counts them (`loyalty.earning.selectors.qualifying_points`). A member is upgraded inside the purchase
that lifts them (the purchase itself earns at the old tier); re-qualifying for the tier they hold extends its
validity to a full window from now. Downgrades happen only in `recalculate_tiers`, once the validity has
passed. `tier_decide` states the rule for both; the job runs it as SQL, pinned to it by its tests.
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


RENEWED = "renewed"  # the tier held, for another window: no TierChange row


@dataclass(frozen=True)
class TierMove:
    """What `tier_decide` decided: the tier to hold and until when, and why (a TierChange reason, or RENEWED)."""

    from_tier: Tier | None
    to_tier: Tier | None
    reason: str
    valid_until: dt.datetime | None


def tier_decide(
    current: Tier | None,
    valid_until: dt.datetime | None,
    *,
    qualifying: int,
    now: dt.datetime,
    window_days: int,
    tiers: list[Tier],
    review: bool,
) -> TierMove | None:
    """The tier rule. Checkout applies it (`review=False`); `recalculate_tiers` runs it as SQL (`review=True`),
    pinned to this function by its tests on both databases.

    Qualifying points reaching a higher tier than `current` upgrade to the highest they reach. Points still
    reaching `current` renew it for a full window from `now` (never shortening it): at checkout whenever they
    do, in the review only once its validity has passed. In the review only, once the validity has passed,
    points below `current` move the member down to the highest tier they reach, or to none. Every new
    validity is a full window from `now` (none without a tier). None: nothing changes."""
    best = tier_for(qualifying, tiers)
    window_end = now + dt.timedelta(days=window_days)
    if rank_of(best) > rank_of(current):
        return TierMove(current, best, TierChange.Reason.UPGRADE, window_end)
    if current is None:
        return None
    lapsed = valid_until is None or valid_until <= now
    if qualifying >= current.threshold:
        if review and not lapsed:
            return None
        return TierMove(current, current, RENEWED, max(valid_until or window_end, window_end))
    if review and lapsed:
        return TierMove(current, best, TierChange.Reason.DOWNGRADE, window_end if best else None)
    return None


def account_tier_after_purchase(
    account: Account, *, qualifying: int, program: Program, now: dt.datetime
) -> TierMove | None:
    """Apply `tier_decide` at checkout to the locked account in memory: an upgrade if `qualifying` reaches a
    higher tier (returned, to be recorded), or a longer validity of the tier it holds when it re-qualifies
    (not returned). Never downgrades. The caller saves the account."""
    tiers = tiers_all()
    if not tiers:
        return None
    move = tier_decide(
        tier_by_id(account.tier_id), account.tier_valid_until, qualifying=qualifying, now=now,
        window_days=program.tier_window_days, tiers=tiers, review=False,
    )  # fmt: skip
    if move is None:
        return None
    account.tier, account.tier_valid_until = move.to_tier, move.valid_until
    return None if move.reason == RENEWED else move


def tier_change_record(account: Account, move: TierMove, *, qualifying: int, now: dt.datetime) -> TierChange:
    return TierChange.objects.create(
        account=account, from_tier=move.from_tier, to_tier=move.to_tier, reason=move.reason,
        qualifying_points=qualifying, valid_until=move.valid_until, created_at=now,
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
