"""What the member page shows on one screen: balance and its value, tier and progress, next expiry,
subscription, the newest ledger entries and the adjustments waiting for approval.

Every figure comes from the selector the API uses for it (balance, tier held, next expiry, qualifying
points); this module only gathers them, in a bounded number of queries whatever the member's history."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from loyalty.adjustments.models import Adjustment
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.ledger.selectors import Balance, NextExpiry, balance_of, next_expiry_of
from loyalty.membership.selectors import TierStanding, tier_standing_of
from loyalty.money import money_str
from loyalty.program.selectors import program_get
from loyalty.subscriptions.models import Subscription
from members.models import Member

LAST_ENTRIES = 10


@dataclass(frozen=True)
class Member360:
    member: Member
    account: Account | None
    balance: Balance
    value: str
    currency: str
    tier: TierStanding
    next_expiry: NextExpiry | None
    subscription: Subscription | None
    entries: list[LedgerEntry]
    pending_adjustments: list[Adjustment]
    approval_limit: int | None


def member_360_of(*, member: Member, now: dt.datetime, shop_id: int | None = None) -> Member360:
    """The member's page at `now` (one query per block, none per ledger entry). With `shop_id` (a shop's own
    staff), the entries are that shop's only and adjustments waiting are not shown."""
    program = program_get()
    account = Account.objects.filter(member=member).first()
    balance = balance_of(account)
    entries = []
    if account is not None:
        rows = LedgerEntry.objects.filter(account=account)
        if shop_id is not None:
            rows = rows.filter(shop_id=shop_id)
        entries = list(
            rows.select_related("shop", "transaction", "adjustment").order_by(
                "-id"
            )[  # an adjustment's note shows beside its entry
                :LAST_ENTRIES
            ]
        )
    subscription = (
        Subscription.objects.filter(member=member).select_related("plan").order_by("-current_period_end", "-id").first()
    )
    pending = []
    if shop_id is None:
        pending = list(
            Adjustment.objects.filter(member=member, status=Adjustment.Status.PENDING_APPROVAL).order_by("-id")[:5]
        )
    return Member360(
        member=member, account=account, balance=balance,
        value=money_str(Decimal(balance.available) * program.point_value, program.currency), currency=program.currency,
        tier=tier_standing_of(member=member, account=account, program=program, now=now),
        next_expiry=next_expiry_of(account, program=program), subscription=subscription, entries=entries,
        pending_adjustments=pending, approval_limit=program.adjustment_approval_points,
    )  # fmt: skip
