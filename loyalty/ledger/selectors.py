"""Reads of the ledger for the API, the admin and the portal."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Min, Sum

from loyalty.calendar import months_add
from loyalty.ledger.models import Account, PointLot
from loyalty.program.models import Program
from members.models import Member


@dataclass(frozen=True)
class Balance:
    available: int = 0
    pending: int = 0
    held: int = 0

    def as_dict(self) -> dict:
        return {"available": self.available, "pending": self.pending, "held": self.held}


@dataclass(frozen=True)
class NextExpiry:
    points: int
    expires_at: dt.datetime


def balance_of(account: Account | None) -> Balance:
    if account is None:
        return Balance()
    return Balance(available=account.available, pending=account.pending, held=account.held)


def account_of(member: Member) -> Account | None:
    return Account.objects.filter(member=member).first()


def next_expiry_of(account: Account | None, *, program: Program) -> NextExpiry | None:
    """The soonest-expiring points: all that expire on the same local day as the first lot to go; under
    the inactivity policy, everything available, N months after the last purchase."""
    if account is None or account.available <= 0 or program.expiry_policy == Program.ExpiryPolicy.NEVER:
        return None
    if program.expiry_policy == Program.ExpiryPolicy.INACTIVITY:
        if account.last_purchase_at is not None:
            return NextExpiry(
                points=account.available, expires_at=months_add(account.last_purchase_at, program.expiry_months)
            )
        first = (
            PointLot.objects.filter(account=account, pending=False, remaining__gt=0)
            .order_by("created_at", "id")
            .values_list("created_at", flat=True)
            .first()
        )
        if first is None:
            return None
        expires_at = months_add(first, program.expiry_months)
        points = PointLot.objects.filter(
            account=account, pending=False, remaining__gt=0, created_at__lt=first + dt.timedelta(days=1)
        ).aggregate(points=Sum("remaining"))["points"]
        return NextExpiry(points=points, expires_at=expires_at)
    lots = PointLot.objects.filter(account=account, pending=False, remaining__gt=0, expires_at__isnull=False)
    soonest = lots.aggregate(at=Min("expires_at"))["at"]
    if soonest is None:
        return None
    local = soonest.astimezone(ZoneInfo(settings.TIME_ZONE))
    day_end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=local.tzinfo)
    points = lots.filter(expires_at__lt=day_end).aggregate(points=Sum("remaining"))["points"]
    return NextExpiry(points=points, expires_at=soonest)
