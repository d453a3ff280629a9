"""Reads of the back office: today's figures for the dashboard, each one aggregate statement, so the
page costs the same handful of queries whatever the program's size."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django_celery_beat.models import PeriodicTask

from loyalty.adjustments.models import Adjustment
from loyalty.earning.models import Transaction
from loyalty.jobs.models import JobStatus
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.money import money_str
from loyalty.program.selectors import program_get
from loyalty.shops.models import Shop

Kind = LedgerEntry.Kind


def day_of(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The program's calendar day holding `now` (settings.TIME_ZONE), as [start, end) instants."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    tomorrow = local.date() + dt.timedelta(days=1)
    # Midnight to midnight on the wall clock: a day when the clocks change is 23 or 25 hours long.
    return (dt.datetime(local.year, local.month, local.day, tzinfo=zone),
            dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone))  # fmt: skip


@dataclass(frozen=True)
class Purchases:
    count: int
    amount: str  # in the program's currency, with its minor units
    currency: str


def purchases_between(*, start: dt.datetime, end: dt.datetime, shop: Shop | None = None) -> Purchases:
    """Purchases that took place in [start, end) (`occurred_at`), all shops' or one shop's: one query."""
    rows = Transaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if shop is not None:
        rows = rows.filter(shop=shop)
    totals = rows.aggregate(count=Count("pk"), amount=Coalesce(Sum("total"), Decimal(0)))
    currency = program_get().currency
    return Purchases(count=totals["count"], amount=money_str(totals["amount"], currency), currency=currency)


@dataclass(frozen=True)
class PointsMoved:
    issued: int  # earned (available or pending), bonuses, and adjustments that added points
    redeemed: int  # spent on rewards or captured at checkout, less redemptions cancelled


def points_between(*, start: dt.datetime, end: dt.datetime) -> PointsMoved:
    """Points issued and redeemed by ledger entries written in [start, end): one query."""
    sums = LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        issued=Coalesce(
            Sum(F("points") + F("pending_points"), filter=Q(kind__in=[Kind.EARN, Kind.BONUS])), 0
        ) + Coalesce(Sum("points", filter=Q(kind=Kind.ADJUST, points__gt=0)), 0),
        spent=Coalesce(Sum("points", filter=Q(kind=Kind.REDEEM)), 0)
        + Coalesce(Sum("held_points", filter=Q(kind=Kind.CAPTURE)), 0),
        given_back=Coalesce(Sum("points", filter=Q(kind=Kind.REVERSAL, reverses__kind=Kind.REDEEM)), 0),
    )  # fmt: skip
    return PointsMoved(issued=int(sums["issued"]), redeemed=int(-sums["spent"] - sums["given_back"]))


@dataclass(frozen=True)
class Liability:
    points: int  # available + pending of every account
    value: str  # points × the program's point value, in its currency
    currency: str


def liability_now() -> Liability:
    """What the program owes in points and what they are worth: one query (and the cached program)."""
    points = int(Account.objects.aggregate(s=Coalesce(Sum(F("available") + F("pending")), 0))["s"])
    program = program_get()
    return Liability(points=points, value=money_str(points * program.point_value, program.currency),
                     currency=program.currency)  # fmt: skip


def adjustments_waiting() -> int:
    """Adjustments waiting for a second person's approval: one query."""
    return Adjustment.objects.filter(status=Adjustment.Status.PENDING_APPROVAL).count()


def jobs_failing() -> int:
    """Periodic jobs whose last run failed (their `JobStatus` counts failures since the last success): one query."""
    return JobStatus.objects.filter(failures__gt=0).count()


def schedules_paused() -> int:
    """Periodic tasks staff paused in the admin: one query."""
    return PeriodicTask.objects.filter(enabled=False).count()
