"""Reads of purchases and campaigns."""

import datetime as dt

from django.db.models import Sum

from loyalty.earning.models import Campaign, Transaction
from loyalty.earning.rules import campaign_runs
from loyalty.ledger.models import LedgerEntry
from loyalty.program.selectors import settings_cached


def qualifying_points(*, member_id: int, since: dt.datetime) -> int:
    """Base points of the member's purchases after `since`, net of refunds (one query)."""
    rows = Transaction.objects.filter(member_id=member_id, occurred_at__gt=since)
    return rows.aggregate(points=Sum("qualifying_points"))["points"] or 0


@settings_cached
def campaigns_active() -> list[Campaign]:
    """The active campaigns (cached with the program's settings)."""
    return list(Campaign.objects.filter(active=True).order_by("code"))


def campaigns_running(*, at: dt.datetime) -> list[Campaign]:
    """The active campaigns whose window holds `at`."""
    return [campaign for campaign in campaigns_active() if campaign_runs(campaign, at=at)]


def points_expired_on_arrival(*, txn: Transaction) -> int:
    """Points of the purchase that expired the moment they were credited (`account_credit_expired`)."""
    entries = LedgerEntry.objects.filter(transaction=txn, kind=LedgerEntry.Kind.EXPIRE)
    return -(entries.aggregate(points=Sum("points"))["points"] or 0)
