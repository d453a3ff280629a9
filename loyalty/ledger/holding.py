"""Points held as payment: moved from available to held, then captured (they leave the books) or released
back to available and to the lots they came from. Building blocks for the holds concern: called inside a
transaction, with an account returned by `account_lock`."""

import datetime as dt

from loyalty.errors import InvalidState
from loyalty.ledger.entries import NO_CAUSE, Cause, account_save, entry_new, points_validate
from loyalty.ledger.errors import InsufficientPoints
from loyalty.ledger.lots import Draw, allocations_of, lots_apply, lots_draw_plan, returns_after_debt
from loyalty.ledger.models import Account, LedgerEntry

Kind = LedgerEntry.Kind


def account_hold(account: Account, *, points: int, now: dt.datetime, cause: Cause = NO_CAUSE) -> LedgerEntry:
    """Move `points` from available to held, drawing lots soonest-expiring first."""
    points = points_validate(points)
    if account.available < points:
        raise InsufficientPoints(available=account.available, requested=points)
    draws = lots_draw_plan(account_id=account.pk, points=points)
    entry = entry_new(account, kind=Kind.HOLD, points=-points, held_points=points, now=now, cause=cause)
    lots_apply(entry, draws)
    account_save(account)
    return entry


def account_release(
    account: Account, *, hold_entry: LedgerEntry, points: int, now: dt.datetime, cause: Cause = NO_CAUSE
) -> LedgerEntry:
    """Give `points` of a hold back to available and to the lots the hold drew from (latest-expiring
    first, so what stays captured is what would have expired soonest)."""
    points = points_validate(points)
    returns, left = [], points
    for draw in allocations_of(hold_entry, latest_expiring_first=True):
        take = min(left, draw.points)
        returns.append(Draw(draw.lot_id, take))
        left -= take
    if left or account.held < points:
        raise InvalidState("The hold does not hold that many points.", param="points")
    returns = returns_after_debt(account, returns)
    entry = entry_new(account, kind=Kind.RELEASE, points=points, held_points=-points, now=now, cause=cause)
    lots_apply(entry, returns, sign=-1)
    account_save(account)
    return entry


def account_capture(account: Account, *, points: int, now: dt.datetime, cause: Cause = NO_CAUSE) -> LedgerEntry:
    """Spend `points` of what is held: they leave the books."""
    points = points_validate(points)
    if account.held < points:
        raise InvalidState("The account does not hold that many points.", param="points")
    entry = entry_new(account, kind=Kind.CAPTURE, points=0, held_points=-points, now=now, cause=cause)
    account_save(account)
    return entry
