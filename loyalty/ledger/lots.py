"""Lots: each credit is a lot; debits draw from lots soonest-expiring first and record which lots they drew
from (allocations), so a cancellation gives points back to the lots they came from. Lots are only written
under their account's lock, so they need no lock of their own.

Statement counts do not grow with the number of lots a member holds: lots to draw from are picked by one
windowed query, changed by one UPDATE and recorded by one INSERT of allocations.
"""

from dataclasses import dataclass

from django.db.models import BigIntegerField, Case, F, Sum, Value, When, Window

from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot

DRAW_ORDER = (F("expires_at").asc(nulls_last=True), F("id").asc())


@dataclass(frozen=True)
class Draw:
    """Points taken from (or given back to) one lot."""

    lot_id: int
    points: int


def lots_draw_plan(*, account_id: int, points: int) -> list[Draw]:
    """Which available lots `points` come from, soonest-expiring first (never-expiring last).

    One query: a running sum picks just the lots needed, however many the member holds. Lots already past
    their expiry but not yet expired by the job are drawn first: until the job runs they are spendable."""
    if points <= 0:
        return []
    rows = (
        PointLot.objects.filter(account_id=account_id, pending=False, remaining__gt=0)
        .annotate(before=Window(Sum("remaining"), order_by=DRAW_ORDER) - F("remaining"))
        .filter(before__lt=points)
        .order_by(*DRAW_ORDER)
        .values_list("id", "remaining", "before")
    )
    return [Draw(lot_id, min(remaining, points - before)) for lot_id, remaining, before in rows]


def lots_apply(entry: LedgerEntry, draws: list[Draw], *, sign: int = 1) -> None:
    """Take (sign=1) or give back (sign=-1) points of lots for `entry` and record the allocations:
    one UPDATE ... CASE and one INSERT, however many lots."""
    draws = [d for d in draws if d.points]
    if not draws:
        return
    PointLot.objects.filter(pk__in=[d.lot_id for d in draws]).update(
        remaining=F("remaining")
        - Case(*[When(pk=d.lot_id, then=Value(sign * d.points)) for d in draws], output_field=BigIntegerField())
    )
    LotAllocation.objects.bulk_create(
        [LotAllocation(entry=entry, lot_id=d.lot_id, points=sign * d.points) for d in draws]
    )


def returns_after_debt(account: Account, returns: list[Draw]) -> list[Draw]:
    """Points coming back to lots first pay off a negative balance; the lots keep what is left."""
    debt = max(0, -account.available)
    kept = []
    for draw in returns:
        paid = min(debt, draw.points)
        debt -= paid
        kept.append(Draw(draw.lot_id, draw.points - paid))
    return kept


def allocations_of(entry: LedgerEntry, *, latest_expiring_first: bool = False) -> list[Draw]:
    """What `entry` still holds of each lot (its draws less what was already given back), in draw order."""
    order = [
        F("lot__expires_at").desc(nulls_first=True)
        if latest_expiring_first
        else F("lot__expires_at").asc(nulls_last=True),
        F("lot_id").desc() if latest_expiring_first else F("lot_id").asc(),
    ]
    rows = (
        LotAllocation.objects.filter(entry=entry)
        .values("lot_id")
        .annotate(points=Sum("points"))
        .order_by(*order)
        .values_list("lot_id", "points")
    )
    return [Draw(lot_id, points) for lot_id, points in rows if points > 0]
